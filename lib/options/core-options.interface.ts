import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import type { IntrospectionEvents } from '../telemetry/introspection-events.interface.js';
import type { TokenSource } from '../interfaces/token-sources.interface.js';
import type { RolesOptions } from '../authorization/role-mappers.js';
import type { ClientAuthMethod } from '../client/client-auth-method.js';
import type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
import type { IntrospectionCacheOptions } from './cache-options.interface.js';
import type { TenantReadiness } from '../tenants/tenant-options.interface.js';

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
 * The core's slice of `IntrospectionModuleOptions`: the authorization server and our credentials there,
 * the HTTP guard, cache, resilience, health, telemetry and the start-up check. Each capability adds its own
 * slice (`jwt/`, `dpop/`, `connections/`, `metadata/`, `push/`, `phantom/`, `outbound/`).
 */
export interface CoreIntrospectionOptions {
  /** The RFC 7662 introspection endpoint. Give this or `issuer`. */
  introspectionEndpoint?: string;
  /**
   * The authorization server's issuer identifier: the endpoint is discovered from
   * `/.well-known/oauth-authorization-server` (RFC 8414), then `/.well-known/openid-configuration`.
   * A failed discovery is retried on a later lookup; a successful one is refreshed after `discoveryCacheSeconds`.
   */
  issuer?: string;
  /** Our client id at the authorization server. Required, except with `tenants` (each tenant has its own). */
  clientId?: string;
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
    /**
     * With `tenants`: `'all'` (default) reports not ready when any tenant's authorization server is down, `'any'` only
     * when every one is. Each tenant's status is in the details either way.
     */
    readiness?: TenantReadiness;
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
  /** Where `@Roles()` / `@AnyRole()` read roles from. Default: the flat `roles` claim (`RoleMappers.roles()`). */
  roles?: RolesOptions;
}
