/**
 * nestjs-token-introspection: accept opaque OAuth 2.0 bearer tokens in NestJS by asking the
 * authorization server (RFC 7662), with caching, single-flight, timeouts, retries, a circuit breaker
 * and a bulkhead, and honest errors when the authorization server cannot answer.
 * @packageDocumentation
 */

/** The module: `IntrospectionModule.forRoot(options)` / `forRootAsync({ useFactory, inject, imports })`. */
export { IntrospectionModule } from './introspection.module.js';
/** The engine: `introspect(token)`, `authenticate(token)`, `evict(token)`, `circuitState`. */
export { IntrospectionService } from './introspection.service.js';
/** The guard: registered globally by default (`globalGuard`), or `@UseGuards(TokenGuard)`. */
export { TokenGuard } from './guard/token.guard.js';
export type { IntrospectionOutage } from './guard/token.guard.js';
/**
 * For `TokenGuard` subclasses: the injection token and type of the validated, defaulted options the
 * guard's constructor takes (`@Inject(RESOLVED_OPTIONS) options: ResolvedOptions`). Read-only.
 */
export { RESOLVED_OPTIONS } from './introspection.constants.js';
export type { ResolvedOptions } from './options/resolved-options.js';
/**
 * For `TokenGuard` subclasses with their own constructor: the guard's optional fourth parameter,
 * `@Optional() @Inject(INTROSPECTION_TELEMETRY) telemetry?: IntrospectionTelemetry` (pass it on to keep
 * the guard's decision metrics). The telemetry itself is internal: treat the value as opaque.
 */
export { INTROSPECTION_TELEMETRY } from './introspection.constants.js';
export type { IntrospectionTelemetry } from './telemetry/introspection.telemetry.js';
/** The request type after `TokenGuard`: `IntrospectedRequest<Request>` has `user?: ActiveIntrospectionResult`. */
export type { IntrospectedRequest } from './interfaces/introspected-request.interface.js';
/** Readiness of the authorization server for `@nestjs/terminus` (11 or 12): `isHealthy(key = 'authorization-server')`. */
export { IntrospectionHealthIndicator } from './health/introspection.health.js';
export type { AuthorizationServerHealth, HealthIndicatorResult, StartupVerdict } from './health/introspection.health.js';
/** State of the authorization server's keys (JWT validation, RFC 9701) as the health indicator reports it. */
export type { KeysHealth } from './jwt/index.js';
/** `@Public()`: no token needed, no call to the authorization server. */
export { Public } from './decorators/public.decorator.js';
/**
 * `@OptionalToken({ invalidToken?, onOutage? })`: a token is optional — none: the handler runs without a principal (no AS
 * call); a valid one: attached as usual; a refused one: 401/400 (or anonymous with `invalidToken: 'anonymous'`); an AS
 * that cannot answer: anonymous (or 503 with `onOutage: 'fail-closed'`).
 */
export { OptionalToken } from './decorators/optional-token.decorator.js';
export type { OptionalTokenOptions } from './decorators/optional-token.decorator.js';
/** `@Scopes(...)`: all required; `@AnyScope(...)`: at least one. Class and handler requirements both apply. */
export { AnyScope, Scopes } from './decorators/scopes.decorator.js';
/** `@OutagePolicy('fail-closed' | 'serve-stale' | 'fail-open')`: per-route behaviour when the AS cannot answer. */
export { OutagePolicy } from './decorators/outage-policy.decorator.js';
/** `@RequireIntrospection()`: revocation-sensitive route; every request asks the AS (JWTs too). */
export { RequireIntrospection } from './decorators/require-introspection.decorator.js';
/** `@Recheck(fraction = 1)`: a fraction of the route's cache hits re-introspect the token in the background (adaptive re-check). */
export { Recheck } from './decorators/recheck.decorator.js';
/** `@RequireDpop()`: only DPoP-bound tokens with a proof (RFC 9449); bearer tokens get 401 with a DPoP challenge. */
export { RequireDpop } from './decorators/require-dpop.decorator.js';
/**
 * `@RequireAuthentication({ acrValues, maxAge })`: RFC 9470 step-up — an `acr` from the list and/or an `auth_time`
 * at most `maxAge` seconds old, else 401 `insufficient_user_authentication` with `acr_values` / `max_age` in the challenge.
 */
export { RequireAuthentication } from './decorators/require-authentication.decorator.js';
export type { AuthenticationRequirement } from './decorators/require-authentication.decorator.js';
/** `@Roles(...)`: all required; `@AnyRole(...)`: at least one. Roles come from the `roles.mapper` option; missing → 403. */
export { AnyRole, Roles } from './decorators/roles.decorator.js';
/** `@RequireClaims({ claim: value })`: every claim must match; `@AnyClaim({ ... })`: at least one. Mismatch → 403. */
export { AnyClaim, RequireClaims } from './decorators/require-claims.decorator.js';
export type { ClaimExpectation, ClaimValue } from './decorators/require-claims.decorator.js';
/** Built-in role mappers for the `roles` option: `claim(name)`, `roles()`, `groups()`, `keycloakRealm()`, `keycloakClient(clientId)`. */
export { RoleMappers } from './authorization/role-mappers.js';
export type { RoleMapper, RolesOptions } from './authorization/role-mappers.js';
/** `@ProtectedResource(resource)`: with several `resourceMetadata` entries, the resource a controller or handler belongs to. */
export { ProtectedResource } from './decorators/protected-resource.decorator.js';
/** RFC 9728 protected-resource metadata (`resourceMetadata` option): one resource's published fields. */
export type { ProtectedResourceMetadataOptions } from './metadata/index.js';
/**
 * RFC 9728 §3.1: the metadata URL of a resource identifier (`https://host/mcp` → `https://host/.well-known/oauth-protected-resource/mcp`),
 * e.g. for a challenge built by hand with `bearerChallenge({ ..., resourceMetadata })`.
 */
export { protectedResourceMetadataUrl } from './metadata/index.js';
/** `@Introspected()` / `@Introspected('sub')`: the validated introspection result (or one claim) as a handler parameter. */
export { Introspected } from './decorators/introspected.decorator.js';
export type { IntrospectedClaim, IntrospectedDecorator, KnownClaim } from './decorators/introspected.decorator.js';
/** RFC 6750 helpers used by the guard, for custom transports: parse an Authorization header, build a challenge. */
export { bearerChallenge, dpopChallenge, extractBearer } from './guard/bearer.js';
/**
 * DPoP (RFC 9449) for custom transports: `verifyDpopProof(proof, { method, uri, accessToken }, policy)`
 * checks a proof (all but replay and nonce) and resolves to its key thumbprint, to pass as
 * `IntrospectOptions.presentation` (`{ scheme: 'dpop', dpopJkt }`). `DpopProofError` carries the RFC error code.
 */
export { DpopProofError, accessTokenHash, verifyDpopProof } from './dpop/index.js';
export type { DpopProofPolicy, DpopRequestContext, VerifiedDpopProof } from './dpop/index.js';
export type { BearerExtraction, ChallengeParams } from './guard/bearer.js';
/**
 * Token sources (`tokenSources`, `websocket.tokenSources`, `microservice.token`): where requests, WebSocket handshakes
 * and microservice messages carry their token. Only the Authorization header by default; the query string only
 * with `dangerouslyAllowTokenInUrl: true`.
 */
export type {
  MicroserviceAuthenticationOptions,
  MicroserviceMessage,
  MicroserviceTokenSource,
  TokenSource,
  WebSocketAuthenticationOptions,
  WebSocketTokenSource,
} from './interfaces/token-sources.interface.js';
/**
 * Long-lived connections: `authenticateWebSockets(adapter, app)` authenticates every WebSocket handshake of a Nest
 * WebSocket adapter; `ConnectionAuthenticator` does the same for graphql-ws (`graphqlWs()`) and custom transports
 * (`authenticate`, `handshake`, `watch`), and closes connections whose token is revoked, evicted or expired.
 * `ConnectionRefusedError` carries `{ status, error, message }` and the close code (`CLOSE_CODES`).
 */
export { authenticateWebSockets } from './connections/index.js';
export type { WebSocketAuthenticationAdapterOptions } from './connections/index.js';
export { CLOSE_CODES, ConnectionAuthenticator, ConnectionRefusedError } from './connections/index.js';
export type { ConnectionPrincipal, ConnectionRequirements } from './connections/index.js';
/**
 * This API's own access tokens for the backends it calls (`outbound` option): `fetch(backend, url, init)`
 * retries once with a new token when the backend refuses ours (e.g. after an IdP restart); `getToken(backend)`.
 */
export { OutboundTokenService } from './outbound/index.js';
export type { OutboundBackendOptions } from './outbound/index.js';
/**
 * `attachOutboundToken(httpService, outbound, backend)`: the same for an axios instance — `@nestjs/axios`'
 * `HttpService` or one from `axios.create()` (interceptors; `@nestjs/axios` is an optional peer, never imported).
 */
export { attachOutboundToken } from './outbound/index.js';
export type { OutboundAxiosInstance, OutboundBackendSelector } from './outbound/index.js';
/**
 * Phantom tokens (`phantom` option): `@PhantomToken(audience?)` gives a handler a short-lived RFC 9068-shaped JWT
 * minted from the request's validated token; `PhantomTokenService` mints (`forRequest`, `mint`), rotates keys
 * (`rotateKey`) and gives the JWK Set (`jwks`), served at the module extra `phantomJwksPath`.
 */
export { PhantomToken, PhantomTokenPipe } from './phantom/index.js';
export { PhantomTokenError, PhantomTokenService } from './phantom/index.js';
export type { PhantomSigningKey, PhantomTokenOptions } from './phantom/index.js';
/** Options accepted by `forRoot()` and returned by `forRootAsync()` factories. */
export type {
  ClientAuthMethod,
  IntrospectionCacheOptions,
  IntrospectionModuleOptions,
  IntrospectionResilienceOptions,
  IntrospectionRevalidationOptions,
  DpopOptions,
  JwtAccessTokenOptions,
  JwtMode,
  MtlsOptions,
  SignedIntrospectionOptions,
} from './interfaces/introspection-module-options.interface.js';
/**
 * The slices `IntrospectionModuleOptions` is composed of: the core's options and one slice per capability
 * (each also exported from the capability's subpath entry point).
 */
export type {
  ConnectionsModuleOptions,
  CoreIntrospectionOptions,
  DpopModuleOptions,
  JwtModuleOptions,
  MetadataModuleOptions,
  OutboundModuleOptions,
  PhantomModuleOptions,
  PushModuleOptions,
} from './interfaces/introspection-module-options.interface.js';
/** Several authorization servers in one API (`tenants`, `tenantResolver`): see docs/tenants.md. */
export type {
  TenantOptions,
  TenantReadiness,
  TenantRequestResolver,
  TenantResolverOptions,
  TenantsModuleOptions,
} from './interfaces/introspection-module-options.interface.js';
/** `cache.redis`: one node, a Redis Cluster or a Sentinel set (node-redis's option names). */
export type {
  RedisClusterConnection,
  RedisClusterSettings,
  RedisNodeClientOptions,
  RedisSentinelConnection,
  RedisSentinelSettings,
  RedisUrlSettings,
} from './options/cache-options.interface.js';
/** Results of `introspect()`: RFC 7662 field names, with derived `scopes` and `stale` beside them. */
export type {
  ActiveIntrospectionResult,
  EvictOptions,
  InactiveIntrospectionResult,
  IntrospectOptions,
  IntrospectionResult,
  TokenPresentation,
} from './interfaces/introspection-result.interface.js';
/** Typed errors: `AuthorizationServerUnavailableError` (→ 503), `InvalidTokenError` (→ 401), configuration errors (start-up). */
export {
  AuthorizationServerUnavailableError,
  IntrospectionConfigurationError,
  InvalidTokenError,
  TokenIntrospectionError,
  describeInvalidToken,
} from './errors/introspection.errors.js';
export type { InvalidTokenReason, UnavailableReason } from './errors/introspection.errors.js';
/** Circuit-breaker state names reported by `IntrospectionService.circuitState`. */
export type { BreakerState } from './resilience/resilience.policy.js';
/** Audit hooks (`events` option) and their payloads: fingerprints, never tokens. */
export type {
  AuthorizationServerResetEvent,
  AuthorizationServerUnavailableEvent,
  CircuitStateChangeEvent,
  IntrospectionEvents,
  OutboundTokenRefusedEvent,
  OutboundTokenUnavailableEvent,
  PushReceivedEvent,
  ResultSource,
  TokenRejectedEvent,
  TokenRejectionReason,
  TokenValidatedEvent,
} from './telemetry/introspection-events.interface.js';
/** Name of the OpenTelemetry meter the metrics are recorded on. */
export { METER_NAME } from './telemetry/introspection.telemetry.js';
/** Body of the revocation webhook (`revocationWebhook: { path }` + `revocationWebhookSecret`). */
export type { RevocationNotification } from './push/index.js';
/**
 * Push receivers (module extras `securityEventReceiver: { path }` / `backchannelLogoutReceiver: { path }`, options
 * `securityEvents` / `backchannelLogout`): OpenID Shared Signals SETs (RFC 8935 push, CAEP events) and OpenID Connect
 * Back-Channel Logout tokens, verified with the sender's keys, evict by session, subject or jti on every replica.
 */
export type {
  BackchannelLogoutOptions,
  BackchannelLogoutReceiverRoute,
  PushReceiverScope,
  SecurityEventReceiverRoute,
  SecurityEventsOptions,
} from './push/index.js';
/** Event type URIs the receivers act on: CAEP `session-revoked`, `credential-change`, `token-claims-change`; back-channel logout. */
export { CAEP_EVENTS } from './push/index.js';
export { BACKCHANNEL_LOGOUT_EVENT } from './push/index.js';
/** A short SHA-256 fingerprint of a token, for logs: never log the token itself. */
export { tokenFingerprint } from './utils/fingerprint.js';
/** Injection token of the raw module options (for `useExisting` or advanced factories). */
export { INTROSPECTION_MODULE_OPTIONS } from './introspection.module-definition.js';
