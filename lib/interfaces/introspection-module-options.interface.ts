import type { PhantomTokenOptions } from '../phantom/phantom-options.interface.js';
import type { OutboundBackendOptions } from '../outbound/outbound-options.interface.js';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import type { IntrospectionEvents } from '../telemetry/introspection-events.interface.js';
import type { MicroserviceAuthenticationOptions, TokenSource, WebSocketAuthenticationOptions } from './token-sources.interface.js';
import type { ProtectedResourceMetadataOptions } from '../metadata/resource-metadata-options.interface.js';
import type { RolesOptions } from '../authorization/role-mappers.js';
import type { BackchannelLogoutOptions, SecurityEventsOptions } from '../push/push-options.interface.js';

import type { ClientAuthMethod } from '../client/client-auth-method.js';
export type { ClientAuthMethod };

import type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
export type { OutagePolicy };

/** Cache of introspection results. All durations in seconds. */
export interface IntrospectionCacheOptions {
  /** Upper bound for caching an active result; the token's `exp` bounds it further. Default 60 s. */
  ttlSeconds?: number;
  /** How long an inactive result is cached (0 disables). Default 10 s. */
  negativeTtlSeconds?: number;
  /**
   * How long after its freshness ends an active result is kept for `serve-stale` (never past `exp`).
   * 0 keeps nothing. Default 300 s.
   */
  staleIfErrorSeconds?: number;
  /** Maximum active entries in the default in-memory store (least recently used go first). Default 10,000. */
  maxEntries?: number;
  /**
   * Maximum inactive entries (always kept in process memory, least recently used first), so a flood of
   * garbage tokens cannot exhaust memory or a shared store. Default 10,000.
   */
  maxNegativeEntries?: number;
  /**
   * A shared store for active results: a Keyv instance (e.g. `new Keyv({ store: new KeyvRedis(url) })`),
   * a Keyv storage adapter, or an array of them (tiers, first is checked first).
   * Default: a bounded in-memory LRU.
   */
  store?: unknown;
  /**
   * A shared cache on Redis for several replicas: a URL (`'redis://127.0.0.1:6379'`) or `{ url, channel }`.
   * Needs `@keyv/redis`. Adds what a plain `store` cannot: evictions reach every replica within a second
   * (Redis pub/sub) and eviction by `sub` / `client_id`. Redis being down only means more calls to the AS.
   */
  redis?: string | { url: string; channel?: string };
  /**
   * With a shared store: seconds an entry is also kept in process memory in front of it. Evictions drop
   * it on every replica when `redis` is used. Default 5 s with `redis`, 0 with `store`.
   */
  localTtlSeconds?: number;
  /**
   * Timeout for one operation on a custom `store`, milliseconds. A store that throws or hangs past it
   * is treated as a miss, and we ask the authorization server instead. Default 100 ms.
   */
  storeTimeoutMs?: number;
  /**
   * Namespace of everything this service writes to a shared store (Redis keys start with it; `purge()`
   * clears only it). Services that share a Redis are isolated by it. Default
   * `'token-introspection:<hash of the authorization server and clientId>'`: one namespace per
   * authorization server and client id, shared by every replica and version of one API.
   */
  keyPrefix?: string;
  /**
   * With `redis`: a secret (≥ 16 characters, the same on every replica) that keys the hashes of `sub`
   * and `client_id` in the eviction index (HMAC-SHA-256). Without it they are salted SHA-256 hashes:
   * not clear text, but someone who can read Redis can confirm a guessed subject. Changing it makes
   * eviction by subject miss entries written before the change (until they expire). Default: none.
   */
  indexSecret?: string;
  /**
   * Background re-introspection of cached active results: refresh-ahead (on by default) and adaptive
   * re-checks (off by default). Never on a request's path, bounded per process, skipped while the circuit
   * breaker is not closed. See `IntrospectionRevalidationOptions`.
   */
  revalidation?: IntrospectionRevalidationOptions;
}

/**
 * Background re-introspection of cached active results. Each background lookup goes through the same
 * single-flight, timeouts, retries and circuit breaker as a request's lookup (its failures count), but no
 * request waits for it and none sees its errors. Its answer replaces the cached entry: an inactive answer
 * evicts the token everywhere, exactly as a request's inactive answer does; an eviction that happens while
 * it is in flight wins (its answer is not cached). Never extends a result past the token's `exp`.
 */
export interface IntrospectionRevalidationOptions {
  /**
   * Refresh-ahead: a cached active result that is used during the last `refreshAheadWindow` fraction of
   * `ttlSeconds` before its freshness ends is re-introspected in the background, so a busy token never waits
   * for the authorization server when its entry ages out, and a revocation is seen within
   * (1 − window) × `ttlSeconds` on a busy token. Costs at most one call per token per cached answer — the call
   * the token would have made at the end of the TTL anyway, made earlier. No refresh for an entry that ends at
   * the token's `exp` (it cannot be extended). 0 turns it off. Default 0.2 (the last 20 % of the TTL).
   */
  refreshAheadWindow?: number;
  /**
   * Adaptive re-checks: the fraction (0–1) of cache hits that also re-introspect the token in the background;
   * a revocation found that way evicts the token on every replica. Routes can ask for their own fraction with
   * `@Recheck()`. Expected time-to-revoke on a token used r times a second ≈ min(T, 1/(r·p)); AS calls ≈ r·p + 1/T
   * per token and second (README, "Adaptive re-checks"). Default 0.
   */
  recheckFraction?: number;
  /**
   * Most background lookups in flight at once, per process (they use the calls reserved for known tokens).
   * Offers beyond the budget wait in a short backlog, least recently verified answer first (README, "Fairness
   * rule"), so one client's flood of re-checks cannot keep another token's re-check out. Default 4.
   */
  maxConcurrent?: number;
  /** Most background lookups started per second, per process (bursts up to this many; see `maxConcurrent` for the backlog). Default 50. */
  maxPerSecond?: number;
}

/** Timeouts, retries, circuit breaker and bulkhead around calls to the authorization server. */
export interface IntrospectionResilienceOptions {
  /** Timeout of one HTTP attempt, milliseconds. Default 2,000 ms. */
  attemptTimeoutMs?: number;
  /** Overall deadline of one lookup, retries and backoff included, milliseconds. Default 5,000 ms. */
  deadlineMs?: number;
  /** Retries after a transient failure (connection, timeout, 5xx, 429). 0 disables. Default 2. */
  retries?: number;
  /** First retry delay, milliseconds; grows exponentially with jitter (decorrelated). Default 50 ms. */
  retryInitialDelayMs?: number;
  /** Largest retry delay, milliseconds. A 429 asking for a longer `Retry-After` is not retried. Default 1,000 ms. */
  retryMaxDelayMs?: number;
  /**
   * Circuit breaker: fail fast for `halfOpenAfterMs` once failed attempts in a row (no success in
   * between) add up to `consecutiveFailures` lookup-equivalents, then let one attempt through as a
   * test. Only authorization-server trouble counts. An attempt that was refused (nothing listens, no
   * route, no such host) or got no answer within `attemptTimeoutMs` (or the lookup's deadline) weighs
   * 2; any other failure (5xx, 429, reset) weighs `1 / (retries + 1)`, so a lookup that failed all its
   * attempts with 5xx counts 1. `false` disables it. Default `{ consecutiveFailures: 5, halfOpenAfterMs: 5000 }`
   * (lookup-equivalents, milliseconds).
   */
  circuitBreaker?: false | { consecutiveFailures?: number; halfOpenAfterMs?: number };
  /** Maximum concurrent HTTP calls to the authorization server. Default 32. */
  maxConcurrentCalls?: number;
  /** Calls allowed to wait for a free slot beyond `maxConcurrentCalls`. Default 1,000. */
  maxQueuedCalls?: number;
  /** `Retry-After` suggested when the failure itself gives no better hint, seconds. Default 5 s. */
  retryAfterSeconds?: number;
  /**
   * Of `maxConcurrentCalls`, how many are kept for re-validating tokens the authorization server said
   * were active (their cache entry aged out): a flood of new or junk tokens can use at most
   * `maxConcurrentCalls − reservedCallsForKnownTokens` calls. Default a quarter of `maxConcurrentCalls`
   * (0 when it is 1).
   */
  reservedCallsForKnownTokens?: number;
  /**
   * Upper bound for an authorization server's `Retry-After` (429 or 5xx), seconds: no call is made
   * before the server's retry time, but a larger value is capped to this. Default 300 s.
   */
  maxRetryAfterSeconds?: number;
}

/**
 * How JWT-shaped bearer tokens (three base64url segments with a JOSE header) are handled.
 * Opaque tokens are always introspected.
 * - `'introspect'`: sent to the introspection endpoint like opaque tokens (the default without `jwt`).
 * - `'local'`: validated locally per RFC 9068 §4 with the authorization server's keys (the default with `jwt`).
 * - `'local-then-introspect'`: validated locally, then introspected for their claims (Keycloak "lightweight"
 *   access tokens, which carry no claims). The introspection answer is cached like an opaque token's.
 * - `'refuse'`: 401 `invalid_token` without calling anyone.
 */
export type JwtMode = 'introspect' | 'local' | 'local-then-introspect' | 'refuse';

/** JWT access tokens (RFC 9068). Durations in seconds. */
export interface JwtAccessTokenOptions {
  /** See `JwtMode`. Default `'local'`. */
  mode?: JwtMode;
  /**
   * JWS algorithms accepted, from configuration only (never from the token or the metadata).
   * `none` and HMAC (`HS*`) are refused at start-up. Default `['RS256', 'PS256', 'ES256', 'EdDSA']`.
   */
  algorithms?: string[];
  /** The authorization server's JWK Set. Default: `jwks_uri` from discovery (`issuer`). */
  jwksUri?: string;
  /** The exact `iss` required. Default: `expectedIssuer`, else `issuer`. */
  issuer?: string;
  /**
   * Require the `typ` header `at+jwt` (RFC 9068 §2.1; `application/at+jwt` too). An ID token (`typ: JWT`) is
   * then refused as `not_access_token`. Set false only for servers that omit `typ`. Default true.
   */
  requireTyp?: boolean;
  /** How long a fetched key set is used before it is fetched again, seconds. Default 300 s. */
  keysCacheSeconds?: number;
  /**
   * When the key endpoint cannot answer, keys older than `keysCacheSeconds` are still used for at most this
   * many more seconds; after that, JWTs get 503 + Retry-After (never 401). Default 3,600 s; 0 disables.
   */
  keysStaleIfErrorSeconds?: number;
  /**
   * A JWT whose `kid` is not in the key set triggers a key refresh (key rotation at the AS), at most once per
   * this many seconds, so unknown `kid`s sent by anyone cannot hammer the key endpoint. Default 30 s.
   */
  keysRefreshIntervalSeconds?: number;
  /**
   * Locally verified JWTs are remembered in process for min(this, exp − now), seconds, so a repeated token
   * costs a hash instead of a signature verification. 0 verifies every request. Default 60 s.
   */
  verificationCacheSeconds?: number;
  /**
   * The longest lifetime of the AS's JWT access tokens, seconds: how long `evictBySubject()` / `evictByClientId()`
   * (and the webhook by `sub` / `client_id`) keep refusing JWTs issued before the eviction. Default 86,400 s (1 day).
   */
  maxTokenLifetimeSeconds?: number;
}

/** RFC 9701 signed introspection responses (`Accept: application/token-introspection+jwt`). */
export interface SignedIntrospectionOptions {
  /**
   * `'require'`: a plain JSON answer is an authorization-server error (503), never a pass.
   * `'prefer'`: ask for a signed answer; verify it when the Content-Type says it is one, accept JSON otherwise.
   */
  mode: 'require' | 'prefer';
  /** JWS algorithms accepted for the response. Default: `jwt.algorithms`, else `['RS256', 'PS256', 'ES256', 'EdDSA']`. */
  algorithms?: string[];
  /** The response's `iat` must be at most this old, seconds (clock skew added). Default 60 s. */
  maxAgeSeconds?: number;
}

/** Options of `IntrospectionModule.forRoot()` / `forRootAsync()`. */
export interface IntrospectionModuleOptions {
  /** The RFC 7662 introspection endpoint. Give this or `issuer`. */
  introspectionEndpoint?: string;
  /**
   * The authorization server's issuer identifier: the endpoint is discovered from
   * `/.well-known/oauth-authorization-server` (RFC 8414), then `/.well-known/openid-configuration`.
   * A failed discovery is retried on a later lookup; a successful one is refreshed after `discoveryCacheSeconds`.
   */
  issuer?: string;
  /** Our client id at the authorization server. */
  clientId: string;
  /** Our client secret (for `client_secret_basic` and `client_secret_post`). Never logged. */
  clientSecret?: string;
  /** How we authenticate to the introspection endpoint. Default `'client_secret_basic'`. */
  clientAuthMethod?: ClientAuthMethod;
  /** For `private_key_jwt`: the signing key (a private JWK, a PKCS#8 PEM string, a KeyObject or CryptoKey). */
  privateKey?: JWK | string | KeyObject | webcrypto.CryptoKey;
  /** For `private_key_jwt`: JWS algorithm. Default: the JWK's `alg`, else `'RS256'`. */
  privateKeyAlgorithm?: string;
  /** For `private_key_jwt`: `kid` header. Default: the JWK's `kid`. */
  privateKeyId?: string;
  /** For `client_credentials_bearer`: the token endpoint. Default: discovered from `issuer`. */
  tokenEndpoint?: string;
  /** For `client_credentials_bearer`: `scope` to request for our own token. Default: none. */
  tokenScope?: string;
  /**
   * When the authorization server evidently lost its state (it refused our own unexpired token, so it
   * was restarted without persistence), drop every cached introspection result — here and on every
   * replica — so tokens that died with it stop being accepted from cache. Default false.
   */
  purgeCacheOnAuthorizationServerReset?: boolean;
  /**
   * Secret that callers of the revocation webhook (module extra `revocationWebhook: { path }`) send as
   * `Authorization: Bearer <secret>`. At least 16 characters. Never logged.
   */
  revocationWebhookSecret?: string;
  /** Allow `http://` endpoints (for local development and tests only). Default false. */
  allowInsecureRequests?: boolean;
  /**
   * Register `TokenGuard` as a global guard (APP_GUARD): every route needs a token unless `@Public()`.
   * Set false to apply it yourself with `@UseGuards(TokenGuard)`. Default true.
   */
  globalGuard?: boolean;
  /** `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3). Default: none. */
  realm?: string;
  /**
   * Put the internal reason of a 503 (`circuit_open`, `client_authentication_failed`, `discovery_misconfigured`, …)
   * in the response body. For development only: it tells anonymous callers the state of this API's link to the
   * authorization server (e.g. that its credentials there are broken). The reason always goes to the logs, the
   * metrics, the events and the health details. Default false: the body says only that the token cannot be
   * verified right now, and when to retry.
   */
  exposeOutageReason?: boolean;
  /** Longest bearer token accepted, characters; longer is `invalid_request` without calling the AS. Default 4,096. */
  maxTokenLength?: number;
  /**
   * Where HTTP requests (and GraphQL over HTTP) carry their access token, e.g.
   * `[{ in: 'header' }, { in: 'cookie', name: 'access_token' }, { in: 'header', name: 'X-Api-Token' }]`.
   * A request that uses more than one at once gets 400 `invalid_request`. The query string is refused
   * unless `dangerouslyAllowTokenInUrl: true`; form bodies are never read. Default `[{ in: 'header' }]`
   * (the Authorization header only).
   */
  tokenSources?: TokenSource[];
  /**
   * WebSocket connections (`authenticateWebSockets()`) and GraphQL subscriptions over graphql-ws
   * (`ConnectionAuthenticator.graphqlWs()`): where the handshake carries the token, how often an open
   * connection is checked again. Defaults: see `WebSocketAuthenticationOptions`.
   */
  websocket?: WebSocketAuthenticationOptions;
  /**
   * Microservice message handlers (`rpc` context): where messages carry their token. Default: none —
   * handlers that are not `@Public()` are refused.
   */
  microservice?: MicroserviceAuthenticationOptions;
  /** Request property that receives the validated introspection result. Default `'user'`. */
  userProperty?: string;
  /** Cache of introspection results; `false` disables caching entirely. */
  cache?: false | IntrospectionCacheOptions;
  /** What to do when the authorization server cannot answer. Default `'fail-closed'`. */
  outagePolicy?: OutagePolicy;
  /**
   * Accept only tokens whose `aud` contains one of these. Default: the `resourceMetadata` resource
   * identifiers when configured, else no audience check.
   */
  audience?: string | string[];
  /**
   * Accept only tokens whose `iss` equals this. An answer without `iss` (optional in RFC 7662) counts as
   * issued by the authorization server that answered, when its issuer is known: the `issuer` option or
   * discovery. Default: no issuer check.
   */
  expectedIssuer?: string;
  /**
   * Accept only results whose `token_type` names an access token (`Bearer`, `access_token`); a result
   * without `token_type` is refused. Closes the refresh-token hole of servers that answer `active: true`
   * for refresh tokens without saying what they are (oidc-provider), at the cost of refusing every token
   * of servers that never send `token_type`. Explicit non-access kinds (`refresh_token`, Hydra's
   * `token_use`, Keycloak's `typ: Refresh`) are refused either way. Default false.
   */
  requireTokenType?: boolean;
  /**
   * How `client_secret_basic` encodes the client id and secret before base64: `'form-urlencoded'`
   * (RFC 6749 §2.3.1, the default) or `'raw'` for servers that do not form-decode them (e.g. Glewlwyd).
   * Only matters for ids and secrets with characters outside `[A-Za-z0-9]`.
   */
  clientSecretBasicEncoding?: 'form-urlencoded' | 'raw';
  /**
   * JWT access tokens (RFC 9068): validated locally with the authorization server's keys, introspected, or refused.
   * Without this option they are introspected like opaque tokens. Local validation needs `audience` and an issuer.
   */
  jwt?: JwtAccessTokenOptions;
  /** Ask for signed introspection responses (RFC 9701) and verify them with the authorization server's keys. Default: off. */
  signedIntrospection?: SignedIntrospectionOptions;
  /** Leeway for `exp`, `nbf` and `iat` checks, seconds. Default 5 s. */
  clockSkewSeconds?: number;
  /** Largest introspection response accepted, bytes. Larger means "invalid response". Default 65,536 B. */
  maxResponseBytes?: number;
  /** How long a discovered endpoint is reused before discovery runs again, seconds. Default 3,600 s. */
  discoveryCacheSeconds?: number;
  /** Timeouts, retries, circuit breaker and bulkhead. */
  resilience?: IntrospectionResilienceOptions;
  /** The readiness probe of `IntrospectionHealthIndicator`. */
  health?: {
    /** Timeout of one probe, milliseconds. Default 1,000 ms. */
    probeTimeoutMs?: number;
    /** How long a probe result is reused, milliseconds, so frequent health checks never hammer the AS. Default 5,000 ms. */
    cacheMs?: number;
    /** A probe slower than this reports `degraded` (Terminus 12) instead of `up`, milliseconds. Default 500 ms. */
    slowMs?: number;
  };
  /**
   * OpenTelemetry metrics (needs `@opentelemetry/api`; a no-op until an SDK is registered — register it
   * before creating the Nest application). `meterProvider` overrides the global provider; `false` disables.
   */
  metrics?: false | { meterProvider?: unknown };
  /** Hooks for audit and custom logic (token validated/rejected, AS unavailable, breaker state). */
  events?: IntrospectionEvents;
  /** HTTP agents for calls to the authorization server (custom CA, mTLS, proxies). Default: keep-alive agents. */
  httpAgent?: HttpAgent;
  httpsAgent?: HttpsAgent;
  /**
   * The start-up check: introspect a token nobody holds once and log a verdict — `ok` (the endpoint answers and
   * accepts our credentials), `misconfigured` with what to change (wrong issuer or trailing slash, no discovery
   * document, wrong secret, wrong endpoint; error level), or `unreachable` (no verdict; warning level).
   * - `true` (default): in the background; start-up never waits for it.
   * - `'fatal'`: awaited during start-up (at most `resilience.attemptTimeoutMs`); a `misconfigured` verdict throws
   *   `IntrospectionConfigurationError` and the application does not start. An unreachable AS never stops start-up.
   * - `false`: no check (the test kit's `overrideIntrospection()` turns it off by itself).
   */
  verifyOnStartup?: boolean | 'fatal';
  /**
   * DPoP-bound access tokens (RFC 9449): `Authorization: DPoP <token>` with a `DPoP` proof header.
   * Default: accepted beside Bearer (not required), no server nonces. `false`: the DPoP scheme is not accepted.
   */
  dpop?: false | DpopOptions;
  /** Certificate-bound access tokens (RFC 8705 §3): where the client certificate comes from. */
  mtls?: MtlsOptions;
  /**
   * Backends this API calls with an access token of its own (client-credentials grant), by name:
   * `OutboundTokenService.fetch(name, url)` / `getToken(name)`. Default: none.
   */
  outbound?: Record<string, OutboundBackendOptions>;
  /**
   * Phantom tokens: short-lived JWTs minted from each accepted token for internal services
   * (`@PhantomToken()`, `PhantomTokenService`); publish their keys with the module extra `phantomJwksPath`.
   * Default: off.
   */
  phantom?: PhantomTokenOptions;
  /**
   * RFC 9728 protected-resource metadata, one entry per protected resource of this app (an MCP server
   * needs it). Published at `/.well-known/oauth-protected-resource<path of the resource>` on the HTTP
   * server's root (a global prefix does not apply), referenced by every
   * challenge (`resource_metadata="…"`), and the default `audience`. Default: off.
   */
  resourceMetadata?: ProtectedResourceMetadataOptions | ProtectedResourceMetadataOptions[];
  /** Where `@Roles()` / `@AnyRole()` read roles from. Default: the flat `roles` claim (`RoleMappers.roles()`). */
  roles?: RolesOptions;
  /**
   * The OpenID Shared Signals transmitter (RFC 8935 push of CAEP events) whose SETs the receiver at the
   * module extra `securityEventReceiver: { path }` verifies. Default: none (the receiver refuses to start without it).
   */
  securityEvents?: SecurityEventsOptions;
  /**
   * OpenID Connect Back-Channel Logout 1.0 logout tokens, received at the module extra
   * `backchannelLogoutReceiver: { path }`. `{}` takes every default. Default: none.
   */
  backchannelLogout?: BackchannelLogoutOptions;
}

/** DPoP (RFC 9449) at the resource server. */
export interface DpopOptions {
  /** Refuse bearer tokens on every route: only DPoP-bound tokens with a proof pass. Per route: `@RequireDpop()`. Default false. */
  required?: boolean;
  /** Asymmetric JWS algorithms accepted for proofs (sent in `WWW-Authenticate: DPoP algs="…"`). Default ES256, ES384, PS256, RS256, EdDSA, Ed25519. */
  algorithms?: string[];
  /** How old a proof (`iat`) may be, seconds; also how long its `jti` is remembered for the replay check. Default 60 s. */
  maxAgeSeconds?: number;
  /** Leeway for the proof's `iat` in either direction, seconds. Default 5 s. */
  clockSkewSeconds?: number;
  /** Longest `DPoP` header accepted, characters. Default 8,192. */
  maxProofLength?: number;
  /**
   * Proof identifiers remembered in process for the replay check (the oldest go first when full). With
   * `cache.redis` every jti is also recorded in Redis (SET NX), so a proof is accepted once across replicas.
   * Size it to (proofs per second per replica) × (maxAgeSeconds + 2 × clockSkewSeconds). Default 100,000.
   */
  replayCacheSize?: number;
  /**
   * Server nonces (RFC 9449 §9): proofs must carry a nonce this API issued (`DPoP-Nonce` header; a proof
   * without it gets 401 `use_dpop_nonce`). `secret`: at least 32 characters, the same on every replica
   * (default: random per process — a client then needs one nonce per replica). `lifetimeSeconds`: how long
   * a nonce is current; it stays accepted one more lifetime. Default 300 s. Default: off.
   */
  nonce?: boolean | { secret?: string; lifetimeSeconds?: number };
  /**
   * The origin clients address (`https://api.example.com`), used for the proof's `htu` when a proxy
   * changes scheme, host or port. Default: taken from the request (its Host header and TLS socket).
   */
  externalOrigin?: string;
  /**
   * Take `htu`'s scheme and host from `X-Forwarded-Proto` / `X-Forwarded-Host` (first value). Only behind
   * a proxy that overwrites them: a client that reaches the app directly controls these headers. Default false.
   */
  trustForwardedHeaders?: boolean;
}

/** Certificate-bound access tokens (RFC 8705 §3). */
export interface MtlsOptions {
  /**
   * Read the client certificate from this request header, set by a TLS-terminating proxy (PEM, URL-encoded
   * PEM as nginx's `$ssl_client_escaped_cert`, or base64 DER). This TRUSTS THE PROXY: anyone who can reach
   * the app without passing through it can forge the header. Default: unset — the certificate comes only
   * from the TLS connection (HTTPS server with `requestCert`), and the header is ignored.
   */
  certificateHeader?: string;
}
