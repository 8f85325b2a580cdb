import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { KeyObject, webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import type { ClientAuthMethod } from '../client/client-auth-method.js';
import type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
import type { IntrospectionEvents } from '../telemetry/introspection-events.interface.js';
import type { ResolvedTokenSourceOptions } from './resolve-token-sources.js';
import type { RoleMapper } from '../authorization/role-mappers.js';
import type { RedisClusterSettings, RedisSentinelSettings } from './cache-options.interface.js';
import type { TenantReadiness } from '../tenants/tenant-options.interface.js';
import type { TenantSelector } from '../tenants/tenant-selector.js';

/**
 * `cache.redis` validated: exactly one of `url`, `cluster`, `sentinel`, and the eviction channel.
 * @beta Internal shape, like `ResolvedOptions`.
 */
export type ResolvedRedisSettings =
  | { readonly topology: 'node'; readonly url: string; readonly channel: string }
  | { readonly topology: 'cluster'; readonly cluster: RedisClusterSettings; readonly channel: string }
  | { readonly topology: 'sentinel'; readonly sentinel: RedisSentinelSettings; readonly channel: string };

/**
 * Options after validation, with every default filled in. Internal. Durations in milliseconds.
 * Exported from the root only for `TokenGuard` subclasses' constructors (`@Inject(RESOLVED_OPTIONS)`);
 * its fields are not a stable API.
 * @beta Internal shape, ready for removal from the root exports in a major.
 */
export interface ResolvedOptions extends ResolvedTokenSourceOptions {
  readonly introspectionEndpoint?: URL;
  readonly issuer?: string;
  /** Identifies this AS + client pair in cache keys: stable across replicas and restarts. */
  readonly cacheNamespace: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly clientAuthMethod: ClientAuthMethod;
  readonly privateKey?: JWK | string | KeyObject | webcrypto.CryptoKey;
  readonly privateKeyAlgorithm: string;
  readonly privateKeyId?: string;
  readonly tokenEndpoint?: string;
  readonly tokenScope?: string;
  readonly purgeCacheOnAuthorizationServerReset: boolean;
  readonly revocationWebhookSecret?: string;
  readonly allowInsecureRequests: boolean;
  readonly globalGuard: boolean;
  readonly realm?: string;
  readonly exposeOutageReason: boolean;
  readonly maxTokenLength: number;
  readonly userProperty: string;
  readonly outagePolicy: OutagePolicy;
  readonly audience?: readonly string[];
  /** True when `audience` was configured; false when it was defaulted from `resourceMetadata` (or absent). */
  readonly audienceExplicit: boolean;
  /** RFC 9728 protected resources (`resourceMetadata`), in configuration order; empty when off. */
  readonly resourceMetadata: readonly ProtectedResourceRef[];
  /** Role extraction for `@Roles()` / `@AnyRole()`. */
  readonly roles: { readonly mappers: readonly RoleMapper[] };
  readonly expectedIssuer?: string;
  readonly requireTokenType: boolean;
  readonly clientSecretBasicEncoding: 'form-urlencoded' | 'raw';
  /** Start-up warnings (logged once per application by `IntrospectionModule`). */
  readonly warnings: readonly string[];
  readonly clockSkewSeconds: number;
  /** JWT access tokens; `mode: 'introspect'` when the option is absent. */
  readonly jwt: {
    readonly mode: 'introspect' | 'local' | 'local-then-introspect' | 'refuse';
    readonly algorithms: readonly string[];
    readonly issuer?: string;
    readonly requireTyp: boolean;
    readonly verificationCacheMs: number;
    /** How long an eviction by `sub` / `client_id` refuses JWTs issued before it. */
    readonly maxTokenLifetimeMs: number;
  };
  /** The authorization server's keys (local JWT validation, RFC 9701), when needed. */
  readonly keys?: {
    /** Explicit; else discovered (`jwks_uri`). */
    readonly jwksUri?: URL;
    readonly cacheMs: number;
    readonly staleIfErrorMs: number;
    readonly refreshIntervalMs: number;
  };
  readonly signedIntrospection:
    | false
    | {
        readonly mode: 'require' | 'prefer';
        readonly algorithms: readonly string[];
        readonly maxAgeSeconds: number;
        /** The `iss` required of signed responses. */
        readonly issuer?: string;
      };
  readonly maxResponseBytes: number;
  readonly discoveryCacheMs: number;
  readonly cache:
    | false
    | {
        readonly ttlMs: number;
        readonly negativeTtlMs: number;
        readonly staleIfErrorMs: number;
        readonly maxEntries: number;
        readonly maxNegativeEntries: number;
        readonly store?: unknown;
        readonly redis?: ResolvedRedisSettings;
        readonly localTtlMs: number;
        readonly storeTimeoutMs: number;
        readonly keyPrefix: string;
        /** Every key this service writes to a shared store starts with it. */
        readonly namespace: string;
        readonly indexSecret?: string;
        readonly revalidation: {
          /** Fraction of `ttlMs` at the end of an entry's freshness during which a hit refreshes it (0: off). */
          readonly refreshAheadWindow: number;
          readonly recheckFraction: number;
          readonly maxConcurrent: number;
          readonly maxPerSecond: number;
        };
      };
  readonly resilience: {
    readonly attemptTimeoutMs: number;
    readonly deadlineMs: number;
    readonly retries: number;
    readonly retryInitialDelayMs: number;
    readonly retryMaxDelayMs: number;
    readonly circuitBreaker: false | { readonly consecutiveFailures: number; readonly halfOpenAfterMs: number };
    readonly maxConcurrentCalls: number;
    readonly maxQueuedCalls: number;
    readonly retryAfterSeconds: number;
    readonly reservedCallsForKnownTokens: number;
    readonly maxRetryAfterSeconds: number;
  };
  readonly health: { readonly probeTimeoutMs: number; readonly cacheMs: number; readonly slowMs: number };
  readonly metrics: false | { readonly meterProvider?: unknown };
  readonly events?: IntrospectionEvents;
  readonly httpAgent?: HttpAgent;
  readonly httpsAgent?: HttpsAgent;
  readonly verifyOnStartup: boolean | 'fatal';
  /** DPoP (RFC 9449), or false when the DPoP scheme is not accepted. */
  readonly dpop: false | ResolvedDpopOptions;
  /** Certificate-bound tokens (RFC 8705 §3). */
  readonly mtls: { readonly certificateHeader?: string };
  /** The Shared Signals (RFC 8935 push) receiver's transmitter, or false. */
  readonly securityEvents:
    | false
    | {
        readonly issuer: string;
        readonly audience: readonly string[];
        readonly jwksUri?: URL;
        readonly jwks?: import('jose').JSONWebKeySet;
        readonly algorithms: readonly string[];
        readonly maxAgeSeconds: number;
        readonly maxBodyBytes: number;
        readonly subjectIssuer?: string;
        readonly keysCacheMs: number;
        readonly keysRefreshIntervalMs: number;
      };
  /** Back-channel logout tokens, or false. */
  /** The tenant these options describe (one of `tenants`); undefined for a single-tenant module and for the module itself. */
  readonly tenant?: string;
  /** `tenants`: each tenant's options and how a request picks one; undefined for a single-tenant module. */
  readonly tenants?: ResolvedTenants;
  readonly backchannelLogout:
    | false
    | {
        readonly issuer: string;
        readonly audience: readonly string[];
        readonly jwksUri?: URL;
        readonly algorithms: readonly string[];
        readonly maxAgeSeconds: number;
        readonly maxTokenLength: number;
      };
}

/**
 * `tenants` and `tenantResolver` validated: each tenant's options resolved like a single-tenant module's.
 * @beta Internal shape, like `ResolvedOptions`.
 */
export interface ResolvedTenants {
  /** Tenant names, in configuration order. */
  readonly names: readonly string[];
  /** Each tenant's options (`tenant` set). */
  readonly options: ReadonlyMap<string, ResolvedOptions>;
  /** Picks the tenant of a request (and of its token, with `jwtIssuer`); undefined when it cannot. */
  readonly select: TenantSelector;
  /** When the readiness probe is up. */
  readonly readiness: TenantReadiness;
}

/** The `dpop` option after validation and defaults. */
export interface ResolvedDpopOptions {
  readonly required: boolean;
  readonly algorithms: readonly string[];
  readonly maxAgeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly maxProofLength: number;
  readonly replayCacheSize: number;
  readonly nonce: false | { readonly secret: string; readonly lifetimeMs: number };
  /** The origin clients address (`https://api.example.com`), or undefined to take it from the request. */
  readonly externalOrigin?: string;
  readonly trustForwardedHeaders: boolean;
}

/** What the core reads of an RFC 9728 protected resource (`resourceMetadata`); the metadata capability's entries extend it. */
export interface ProtectedResourceRef {
  readonly resource: string;
  /** Where its metadata is served (absolute URL, sent as `resource_metadata` in challenges). */
  readonly metadataUrl: string;
  /** The path of `metadataUrl` (what the route matches). */
  readonly metadataPath: string;
}
