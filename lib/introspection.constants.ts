/** Injection token of the validated, defaulted options (internal). */
export const RESOLVED_OPTIONS = Symbol.for('token-introspection:resolved-options');
/** Injection token of the cache of introspection results, or null when caching is off (internal). */
export const INTROSPECTION_CACHE = Symbol.for('token-introspection:cache');
/** Injection token of the state replicas share for features (replay records, revocation marks): the `SharedState` port (internal). */
export const SHARED_STATE = Symbol.for('token-introspection:shared-state');
/** Injection token of the telemetry (metrics, events) shared by the layers (internal). */
export const INTROSPECTION_TELEMETRY = Symbol.for('token-introspection:telemetry');
/** Metadata: the route or controller needs no token (`@Public()`). */
export const PUBLIC_KEY = 'token-introspection:public';
/** Metadata: a token is optional on the route or controller (`@OptionalToken()`): its resolved options. */
export const OPTIONAL_TOKEN_KEY = 'token-introspection:optional-token';
/** Metadata: scopes that must all be granted (`@Scopes()`). */
export const SCOPES_KEY = 'token-introspection:scopes';
/** Metadata: scopes of which at least one must be granted (`@AnyScope()`). */
export const ANY_SCOPE_KEY = 'token-introspection:any-scope';
/** Metadata: per-route outage policy (`@OutagePolicy()`). */
export const OUTAGE_POLICY_KEY = 'token-introspection:outage-policy';
/** Metadata: the route is revocation-sensitive and always asks the authorization server (`@RequireIntrospection()`). */
export const REQUIRE_INTROSPECTION_KEY = 'token-introspection:require-introspection';
/** Injection token of the JWT access-token path (internal). */
export const JWT_ACCESS_TOKENS = Symbol.for('token-introspection:jwt-access-tokens');
/** Injection token of the authorization server's keys, or null when nothing needs them (internal). */
export const AUTHORIZATION_SERVER_KEYS = Symbol.for('token-introspection:authorization-server-keys');
/** Metadata: the route accepts only DPoP-bound tokens with a proof (`@RequireDpop()`). */
export const REQUIRE_DPOP_KEY = 'token-introspection:require-dpop';
/** Injection token of the DPoP proof verifier, or null when `dpop: false` (internal). */
export const DPOP_VERIFIER = Symbol.for('token-introspection:dpop-verifier');
/** Metadata: audiences named by the `@PhantomToken()` parameters of a handler (checked at start-up; `null` = the default). */
export const PHANTOM_AUDIENCES_KEY = 'token-introspection:phantom-audiences';
/** Metadata: fraction of the route's cache hits re-introspected in the background (`@Recheck()`). */
export const RECHECK_KEY = 'token-introspection:recheck';
/** DI token of the RFC 9701 signed-response opener (`ResponseOpener`), when `signedIntrospection` is on; else null. */
export const RESPONSE_OPENER = Symbol.for('token-introspection:response-opener');
/** DI token of the `TokenMinter` port (phantom tokens for consumers without a guarded request), or null when `phantom` is off (internal). */
export const TOKEN_MINTER = Symbol.for('token-introspection:token-minter');
/** DI token of each tenant's cache (`tenants`), built before the engines so the shared state can use one; null without tenants (internal). */
export const TENANT_CACHES = Symbol.for('token-introspection:tenant-caches');
/** DI token of each tenant's `IntrospectionService` (`tenants`), or null without tenants (internal). */
export const TENANT_SERVICES = Symbol.for('token-introspection:tenant-services');
/** DI token of each tenant's health indicator (`tenants`), or null without tenants (internal). */
export const TENANT_HEALTH = Symbol.for('token-introspection:tenant-health');
