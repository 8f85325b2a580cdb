/**
 * The forward-auth decision endpoint (`ForwardAuthModule`): the library's checks in front of services in any language,
 * for nginx `auth_request`, Traefik `ForwardAuth` and Envoy `ext_authz`. The public names of the forward-auth capability.
 */
export { ForwardAuthModule } from './forward-auth.module.js';
export type { ForwardAuthLocation, ForwardAuthOptions, ForwardAuthRequirements, ForwardAuthUpstreamToken } from './forward-auth-options.interface.js';
/** What a claim requirement accepts (the `@RequireClaims()` values), re-exported for `ForwardAuthRequirements`. */
export type { ClaimExpectation, ClaimValue } from '../decorators/require-claims.decorator.js';
