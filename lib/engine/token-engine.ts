import { hash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BackgroundRevalidator } from '../cache/background-revalidator.js';
import type { ActiveRecord, IntrospectionCache } from '../cache/introspection.cache.js';
import { SingleFlight } from '../cache/single-flight.js';
import { checkBinding, inactive, isBoundTokenType } from '../client/introspection-response.js';
import type { IntrospectionClient } from '../client/introspection.client.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult, IntrospectOptions, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { TokenPath } from '../ports.js';
import type { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import type { ResultSource } from '../telemetry/introspection-events.interface.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import { callerGaveUp, withDeadline } from './caller-deadline.js';
import { ServerLookup } from './server-lookup.js';

/**
 * The lookup pipeline behind `IntrospectionService`: the in-process tier (synchronous on a fresh hit), the
 * shared tier, single-flight, the call to the authorization server, stale answers during an outage, background
 * revalidation, and the last checks of every path (sender binding, events). Token paths of capabilities
 * (`TokenPath`: JWT access tokens) are asked first; the engine knows no capability's code.
 */
export class TokenEngine {
  readonly flight = new SingleFlight<IntrospectionResult>();
  private readonly allowStaleByDefault: boolean;
  /** Refresh-ahead and adaptive re-checks (only with a cache). */
  private readonly revalidator?: BackgroundRevalidator;
  /** Fraction of cache hits re-checked in the background (`cache.revalidation.recheckFraction`). */
  private readonly recheckFraction: number;
  /** The call to the authorization server (policy, storage under the cache's write ticket, failure reports). */
  private readonly server: ServerLookup;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly cache: IntrospectionCache | null,
    resilience: ResiliencePolicy,
    client: IntrospectionClient,
    private readonly telemetry: IntrospectionTelemetry,
    private readonly jwt: TokenPath | null | undefined,
    logger: Logger,
  ) {
    this.allowStaleByDefault = options.outagePolicy === 'serve-stale';
    this.server = new ServerLookup(options, cache, resilience, client, telemetry, jwt, logger);
    // An eviction (here or on another replica) detaches lookups in flight: later requests start afresh.
    cache?.onEvicted((keys) => this.flight.forget(keys));
    this.recheckFraction = options.cache ? options.cache.revalidation.recheckFraction : 0;
    if (cache && options.cache) {
      this.revalidator = new BackgroundRevalidator(
        options.cache.revalidation,
        {
          // The request path's own lookup: single-flight (a request arriving meanwhile joins it), resilience
          // (feeds the breaker), the cache's write tickets (an eviction meanwhile wins) and eviction on `active: false`.
          lookup: (token, key) => this.flight.run(key, () => this.server.lookup(token, key, true)),
          current: (key) => cache.readLocal(key),
          breaker: () => resilience.state,
        },
        telemetry,
      );
    }
  }

  /**
   * Introspects a token. Resolves to the validated RFC 7662 result — `{ active: false, reason }` for
   * a token that is unknown, revoked, expired, not an access token or not meant for this API — and
   * rejects with `AuthorizationServerUnavailableError` when the authorization server cannot answer.
   */
  introspect(token: string, options?: IntrospectOptions): Promise<IntrospectionResult> {
    if (typeof token !== 'string' || token.length === 0) return Promise.resolve(inactive('inactive'));
    // JWT access tokens (RFC 9068) take their own path per `jwt.mode`; opaque tokens are always introspected.
    // (Not an async function itself: a cache hit costs no extra promise.)
    if (this.jwt?.handles(token)) return this.resolveJwt(token, options);
    return this.introspectAtServer(token, options);
  }

  /**
   * The answer this process holds in memory for a token, when it is fresh, else undefined (then call
   * `introspect()`): synchronous, no I/O, no promise. The same checks as `introspect()` on a cache hit
   * (the presentation's DPoP/mTLS binding, events, metrics). JWT access tokens and `requireIntrospection`
   * always answer undefined. What `TokenGuard` tries first on every request.
   */
  cachedResult(token: string, options?: IntrospectOptions): IntrospectionResult | undefined {
    const cache = this.cache;
    if (!cache || options?.requireIntrospection === true || typeof token !== 'string' || token.length === 0) return undefined;
    if (this.jwt?.handles(token)) return undefined;
    const now = Date.now();
    const record = cache.readLocalToken(token, now);
    if (!record) return undefined;
    if (!record.result.active) {
      this.telemetry.cacheLookup('negative_hit');
      return this.report(token, record.result, 'cache', options);
    }
    const active = record as ActiveRecord;
    if (now >= active.freshUntil) return undefined;
    this.telemetry.cacheLookup('hit');
    this.revalidateInBackground(token, undefined, active, now, options);
    return this.report(token, active.result, 'cache', options);
  }

  /**
   * On a fresh hit, background work scheduled off the request: refresh-ahead near the end of freshness,
   * else a sampled re-check. Costs a comparison or two; the key is derived only when work is offered.
   */
  private revalidateInBackground(token: string, key: string | undefined, active: ActiveRecord, now: number, options?: IntrospectOptions): void {
    if (now >= active.refreshAt) this.revalidator!.offer('refresh', token, key ?? this.cache!.key(token), active);
    else {
      const p = options?.recheckFraction ?? this.recheckFraction;
      if (p > 0 && (p >= 1 || Math.random() < p)) this.revalidator!.offer('recheck', token, key ?? this.cache!.key(token), active);
    }
  }

  private async resolveJwt(token: string, options?: IntrospectOptions): Promise<IntrospectionResult> {
    const { result, source } = await this.jwt!.resolve(token, options, this.introspectAtServer);
    return source === 'authorization-server' ? result : this.report(token, result, source, options);
  }

  /** Introspection proper: cache, single-flight, resilience, the authorization server. */
  private readonly introspectAtServer = async (
    token: string,
    options?: IntrospectOptions,
    signed?: ActiveIntrospectionResult,
  ): Promise<IntrospectionResult> => {
    const cache = this.cache;
    let key: string;
    let cached: ActiveRecord | undefined;
    let epoch = 0;
    if (cache) {
      // Revocation-sensitive routes always ask the AS (the answer is still cached for other routes).
      const fresh = options?.requireIntrospection === true;
      let record = fresh ? undefined : cache.readLocalToken(token);
      key = cache.key(token);
      if (!record && cache.hasShared && !fresh) record = await cache.readShared(key, token, signed ? this.server.signedPolicyCheck : this.server.policyCheck);
      if (record) {
        if (!record.result.active) {
          this.telemetry.cacheLookup('negative_hit');
          return this.report(token, record.result, 'cache', options);
        }
        const active = record as ActiveRecord;
        const now = Date.now();
        if (now < active.freshUntil) {
          this.telemetry.cacheLookup('hit');
          this.revalidateInBackground(token, key, active, now, options);
          return this.report(token, active.result, 'cache', options);
        }
        cached = active;
        epoch = cache.epoch;
      }
      this.telemetry.cacheLookup('miss');
    } else {
      key = hash('sha256', token, 'base64url');
    }
    if (options?.signal?.aborted) throw callerGaveUp(this.options);
    // A token with an aged-out active entry is a re-validation: it may use the calls reserved for known tokens.
    const shared = this.flight.run(key, () => this.server.lookup(token, key, cached !== undefined, options?.caller, signed));
    try {
      const result = await (options?.timeoutMs !== undefined || options?.signal ? withDeadline(shared, options, this.options) : shared);
      return this.report(token, result, 'authorization-server', options);
    } catch (error) {
      const stale =
        error instanceof AuthorizationServerUnavailableError && (options?.allowStale ?? this.allowStaleByDefault)
          ? this.staleRecord(key, cached, epoch)
          : undefined;
      if (stale) {
        this.telemetry.cacheLookup('stale');
        return this.report(token, Object.freeze({ ...stale.result, stale: true as const }), 'stale-cache', options);
      }
      throw error;
    }
  };

  /**
   * The record to serve stale during an outage: the newest one (an inactive answer or an eviction
   * since the request started wins), still within `staleIfErrorSeconds` and before `exp`.
   */
  private staleRecord(key: string, seen: ActiveRecord | undefined, epoch: number): ActiveRecord | undefined {
    const cache = this.cache;
    if (!cache) return undefined;
    const now = cache.readLocalForStale(key);
    let record: ActiveRecord | undefined;
    if (now) record = now.result.active ? (now as ActiveRecord) : undefined;
    else if (cache.epoch === epoch) record = seen; // the local front tier may have let it go; nothing was evicted since
    return record && Date.now() < record.staleUntil ? record : undefined;
  }

  /**
   * The last step of every path (fresh, cached, shared, stale, local JWT): a bound token must come with the
   * proof its `cnf` asks for, on each request (RFC 9449 §7.1, RFC 8705 §3). Then emits the validated/rejected
   * hook, if one is configured (the fingerprint costs a hash).
   */
  report(token: string, found: IntrospectionResult, source: ResultSource, options?: IntrospectOptions): IntrospectionResult {
    let result = found;
    // Without `cnf` and without a proof, only a bound `token_type` can refuse a result (see checkBinding): a plain
    // bearer token's cache hit skips the check.
    if (result.active && (result.cnf !== undefined || options?.presentation?.scheme === 'dpop' || isBoundTokenType(result.token_type))) {
      const refused = checkBinding(result, options?.presentation);
      if (refused) result = inactive(refused);
    }
    const events = this.telemetry.events;
    if (result.active) {
      if (events.onTokenValidated) {
        this.telemetry.emit('onTokenValidated', {
          fingerprint: tokenFingerprint(token),
          clientId: result.client_id,
          sub: result.sub,
          scopes: result.scopes,
          source,
        });
      }
    } else if (events.onTokenRejected) {
      this.telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: result.reason });
    }
    return result;
  }

  /** Background lookups in flight may still cache their answer (bounded); resolves when they are done. */
  async stop(): Promise<void> {
    await this.revalidator?.stop();
  }
}
