import { SetMetadata } from '@nestjs/common';
import { PROTECTED_RESOURCE_KEY } from '../authorization/authorization.constants.js';
/**
 * With several `resourceMetadata` entries: the protected resource (its `resource` identifier, exactly as
 * configured) a controller or handler belongs to (handler wins). Its RFC 9728 metadata URL goes into the
 * route's challenges, and — unless `audience` is set — the token's `aud` must contain this resource.
 * Default: the first configured resource. An identifier that is not configured fails start-up.
 */
export function ProtectedResource(resource) {
    if (typeof resource !== 'string' || resource.length === 0) {
        throw new Error(`@ProtectedResource() takes the resource identifier configured in resourceMetadata; got ${JSON.stringify(resource)}.`);
    }
    return SetMetadata(PROTECTED_RESOURCE_KEY, resource);
}
