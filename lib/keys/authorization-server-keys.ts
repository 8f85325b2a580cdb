import type { AxiosInstance } from 'axios';
import type { createLocalJWKSet, CryptoKey, FlattenedJWSInput, JSONWebKeySet, JWSHeaderParameters, JWTVerifyOptions, JWTVerifyResult } from 'jose';
import { jose, joseCode, loadJose } from '../utils/jose.js';
import type { EndpointResolver } from '../client/discovery.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { HealthContributor, KeysHealth } from '../ports.js';

export type { KeysHealth };

type KeyOptions = NonNullable<ResolvedOptions['keys']>;
type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

interface KeySet {
  readonly resolve: ReturnType<typeof createLocalJWKSet>;
  readonly kids: readonly string[];
  readonly fetchedAt: number;
}

/**
 * The authorization server's signing keys (its JWK Set), for local JWT validation and RFC 9701.
 *
 * - Fetched with the library's HTTP client through the resilience policy (timeouts, retries, the same
 *   circuit breaker as introspection), never with jose's `createRemoteJWKSet`, which has its own client.
 * - Used for `keysCacheSeconds`; then refreshed in the background while the old set keeps serving.
 * - A `kid` that is not in the set (key rotation) triggers one refresh, at most every `keysRefreshIntervalSeconds`.
 * - If the key endpoint cannot answer, the last set serves for at most `keysStaleIfErrorSeconds` more; after
 *   that verification fails with `AuthorizationServerUnavailableError` (503 + Retry-After), never "invalid token".
 */
export class AuthorizationServerKeys implements HealthContributor {
  private current?: KeySet;
  private refreshing?: Promise<KeySet>;
  private lastAttempt = 0;
  private lastError?: AuthorizationServerUnavailableError;

  constructor(
    private readonly options: KeyOptions,
    private readonly retryAfterSeconds: number,
    /** Timeout of a direct fetch (outside the policy), milliseconds. */
    private readonly directTimeoutMs: number,
    private readonly http: AxiosInstance,
    private readonly resilience: ResiliencePolicy,
    /** Where `jwksUri` comes from: discovery, or a fixed URL (the push receivers' transmitter keys). */
    private readonly endpoints: Pick<EndpointResolver, 'resolve'>,
  ) {}

  /**
   * A jose key resolver. `direct` (with a signal): fetch without the resilience policy, for callers that
   * already run under it (RFC 9701 inside an introspection call), so a bulkhead slot never waits for itself.
   */
  resolver(direct?: { signal?: AbortSignal }): KeyResolver {
    return (header, token) => this.keyFor(header, token, direct);
  }

  /** Whether keys are usable now, and how old they are (for the health indicator). */
  health(now = Date.now()): KeysHealth {
    const set = this.current;
    if (!set) return this.lastError ? { status: 'down', reason: this.lastError.reason } : { status: 'unknown' };
    const age = now - set.fetchedAt;
    const ageSeconds = Math.round(age / 1000);
    if (age < this.options.cacheMs) return { status: 'up', ageSeconds };
    if (age < this.options.cacheMs + this.options.staleIfErrorMs) return { status: 'stale', ageSeconds, reason: this.lastError?.reason };
    return { status: 'down', ageSeconds, reason: this.lastError?.reason ?? 'keys_expired' };
  }

  /** Fetches the key set now (health probe, warm-up). Rejects when the key endpoint cannot answer. */
  async refresh(direct?: { signal?: AbortSignal }): Promise<void> {
    await this.startRefresh(direct);
  }

  private async keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput, direct?: { signal?: AbortSignal }): Promise<CryptoKey> {
    const now = Date.now();
    let set = this.current;
    if (!set || now - set.fetchedAt >= this.options.cacheMs + this.options.staleIfErrorMs) {
      // Nothing usable: this request waits for the key endpoint (503 if it cannot answer).
      set = await this.startRefresh(direct);
    } else if (now - set.fetchedAt >= this.options.cacheMs && now - this.lastAttempt >= this.minRetryMs()) {
      // Past freshness: refresh in the background; the old set serves meanwhile (and on failure, within the bound).
      this.startRefresh(direct).catch(() => undefined);
    }
    try {
      return await set.resolve(header, token);
    } catch (error) {
      if (joseCode(error) !== 'ERR_JWKS_NO_MATCHING_KEY' || Date.now() - this.lastAttempt < this.options.refreshIntervalMs) throw error;
      // Perhaps the AS rotated its keys: one refresh, rate-limited.
      const fresh = await this.startRefresh(direct);
      return fresh.resolve(header, token);
    }
  }

  /** At most one failed attempt per second while serving stale keys, so an outage is not hammered. */
  private minRetryMs(): number {
    return Math.min(1000, this.options.cacheMs);
  }

  private startRefresh(direct?: { signal?: AbortSignal }): Promise<KeySet> {
    this.refreshing ??= this.fetch(direct)
      .then(
        (set) => {
          this.current = set;
          this.lastError = undefined;
          return set;
        },
        (error: unknown) => {
          this.lastError = error as AuthorizationServerUnavailableError;
          throw error;
        },
      )
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async fetch(direct?: { signal?: AbortSignal }): Promise<KeySet> {
    this.lastAttempt = Date.now();
    if (direct) return this.fetchOnce(direct.signal ?? AbortSignal.timeout(this.directTimeoutMs));
    return this.resilience.execute((signal) => this.fetchOnce(signal));
  }

  private async fetchOnce(signal?: AbortSignal): Promise<KeySet> {
    await loadJose();
    const endpoint = await this.endpoints.resolve(signal);
    const uri = endpoint.jwksUri;
    if (!uri) {
      throw this.unavailable('discovery_failed', "The authorization server's metadata lists no jwks_uri: set `jwt.jwksUri`.");
    }
    let res;
    try {
      res = await this.http.get<string>(uri.href, { signal, headers: { accept: 'application/jwk-set+json, application/json' } });
    } catch (cause) {
      const e = cause as { code?: string; name?: string; message?: string };
      if (e?.code === 'ERR_CANCELED' || e?.name === 'CanceledError') throw this.unavailable('timeout', 'The key endpoint did not answer in time.', cause);
      throw this.unavailable('connection_failed', `The key endpoint ${uri.host} could not be reached (${e?.code ?? e?.message}).`, cause);
    }
    if (res.status >= 500) throw this.unavailable('server_error', `The key endpoint answered HTTP ${res.status}.`, undefined, res.status);
    if (res.status === 429) throw this.unavailable('rate_limited', 'The key endpoint is rate limiting us (HTTP 429).', undefined, res.status);
    if (res.status !== 200)
      throw this.unavailable('unexpected_status', `The key endpoint answered HTTP ${res.status}; expected 200 (check \`jwt.jwksUri\`).`, undefined, res.status);
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(res.data) as JSONWebKeySet;
      if (!jwks || !Array.isArray(jwks.keys)) throw new Error('no "keys" array');
    } catch (cause) {
      throw this.unavailable('invalid_response', 'The key endpoint answered 200 without a JWK Set.', cause, 200);
    }
    // Only public signature keys: a set that leaks private or symmetric material is used without it.
    const keys = jwks.keys.filter((k) => k && typeof k === 'object' && k.kty !== 'oct' && (k.use === undefined || k.use === 'sig'));
    const publicOnly = keys.map(({ d, p, q, dp, dq, qi, k, ...pub }) => pub);
    return {
      resolve: jose().createLocalJWKSet({ keys: publicOnly }),
      kids: publicOnly.map((k) => k.kid).filter((kid): kid is string => typeof kid === 'string'),
      fetchedAt: Date.now(),
    };
  }

  private unavailable(reason: AuthorizationServerUnavailableError['reason'], message: string, cause?: unknown, status?: number) {
    return new AuthorizationServerUnavailableError(reason, this.retryAfterSeconds, message, { cause, status });
  }
}

/**
 * `jwtVerify` with a key resolver, trying each candidate when several keys of the set match the header
 * (e.g. keys published without `kid`): jose signals that with an iterable `JWKSMultipleMatchingKeys`.
 */
export async function verifyWithKeys(token: string, resolver: KeyResolver, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
  const { jwtVerify } = await loadJose();
  try {
    return await jwtVerify(token, resolver, options);
  } catch (error) {
    if (joseCode(error) !== 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') throw error;
    const candidates = error as AsyncIterable<CryptoKey>;
    let last: unknown = error;
    for await (const key of candidates) {
      try {
        return await jwtVerify(token, key, options);
      } catch (attempt) {
        if (joseCode(attempt) !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') throw attempt;
        last = attempt;
      }
    }
    throw last;
  }
}
