import { SetMetadata } from '@nestjs/common';
import { REQUIRE_DPOP_KEY } from '../introspection.constants.js';
/**
 * Accepts only DPoP-bound access tokens with a valid proof (RFC 9449) on a handler or controller: a bearer
 * token is refused with 401 and `WWW-Authenticate: DPoP algs="…", error="invalid_token"`, without asking
 * the authorization server. For every route at once, use the module option `dpop.required`.
 */
export function RequireDpop() {
    return SetMetadata(REQUIRE_DPOP_KEY, true);
}
