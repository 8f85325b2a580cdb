import { SetMetadata } from '@nestjs/common';
import { PUBLIC_KEY } from '../introspection.constants.js';
/**
 * Marks a route handler or a whole controller as public: `TokenGuard` lets requests through
 * without a token and without calling the authorization server.
 */
export function Public() {
    return SetMetadata(PUBLIC_KEY, true);
}
