/** Metadata: RFC 9470 step-up requirements (`@RequireAuthentication()`). */
export const REQUIRE_AUTHENTICATION_KEY = 'token-introspection:require-authentication';
/** Metadata: roles that must all be held (`@Roles()`). */
export const ROLES_KEY = 'token-introspection:roles';
/** Metadata: roles of which at least one must be held (`@AnyRole()`). */
export const ANY_ROLE_KEY = 'token-introspection:any-role';
/** Metadata: claim values that must all match (`@RequireClaims()`). */
export const REQUIRE_CLAIMS_KEY = 'token-introspection:require-claims';
/** Metadata: claim values of which at least one must match (`@AnyClaim()`). */
export const ANY_CLAIM_KEY = 'token-introspection:any-claim';
/** Metadata: the RFC 9728 protected resource a route belongs to (`@ProtectedResource()`). */
export const PROTECTED_RESOURCE_KEY = 'token-introspection:protected-resource';
/** Every key that declares a requirement on the token (so `@Public()` beside it is ignored, like beside `@Scopes()`). */
export const REQUIREMENT_KEYS = [REQUIRE_AUTHENTICATION_KEY, ROLES_KEY, ANY_ROLE_KEY, REQUIRE_CLAIMS_KEY, ANY_CLAIM_KEY];
