import { SetMetadata } from '@nestjs/common';
import { REQUIRE_INTROSPECTION_KEY } from '../introspection.constants.js';
/**
 * Marks a revocation-sensitive handler or controller (payments, admin): every request asks the
 * authorization server. An opaque token skips the cache read; a JWT access token that validates locally
 * is introspected as well, so a token revoked at the AS is refused at once. Costs one AS round trip per
 * request on these routes. Some authorization servers cannot introspect JWT access tokens (oidc-provider
 * answers 400 `unsupported_token_type`): with them these routes answer 503 for JWTs.
 */
export function RequireIntrospection() {
    return SetMetadata(REQUIRE_INTROSPECTION_KEY, true);
}
