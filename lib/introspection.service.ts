import { hash } from 'node:crypto';
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { BackgroundRevalidator } from './cache/background-revalidator.js';
import { IntrospectionCache, type ActiveRecord, type PolicyCheck } from './cache/introspection.cache.js';
import type { SharedEntry } from './cache/sealed-entry.js';
import { SingleFlight } from './cache/single-flight.js';
import { checkBinding, inactive, isBoundTokenType, TOKEN_REJECTED, validateClaims, type IntrospectionResponse } from './client/introspection-response.js';
import { IntrospectionClient } from './client/introspection.client.js';
import {
  AuthorizationServerUnavailableError,
  DpopProofError,
  InvalidTokenError,
} from './errors/introspection.errors.js';
import { DPOP_VERIFIER, INTROSPECTION_CACHE, INTROSPECTION_TELEMETRY, JWT_ACCESS_TOKENS, RESOLVED_OPTIONS } from './introspection.constants.js';
import { registerProofVerifier, type DpopRequestContext, type ProofVerifier, type TokenPath, type VerifiedDpopProof } from './ports.js';
import type { IntrospectionTelemetry } from './telemetry/introspection.telemetry.js';
import type { ResultSource } from './telemetry/introspection-events.interface.js';
import type {
  ActiveIntrospectionResult,
  IntrospectOptions,
  IntrospectionResult,
} from './interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from './options/resolved-options.js';
import { ResiliencePolicy, type BreakerState } from './resilience/resilience.policy.js';
import { PolicyRefusals } from './telemetry/policy-refusals.js';
import { tokenFingerprint } from './utils/fingerprint.js';
import { RateLimitedLogger } from './utils/rate-limited-logger.js';

/**
 * Asks the authorization server whether a token is active (RFC 7662), with caching, single-flight,
 * timeouts, retries, a circuit breaker and a bulkhead in between. Knows nothing of HTTP requests:
 * use it from guards, GraphQL contexts, WebSocket gateways or message handlers alike.
 */
@Injectable()
export class IntrospectionService implements OnApplicationShutdown {
  private readonly flight = new SingleFlight<IntrospectionResult>();
  private readonly log = new RateLimitedLogger(new Logger(IntrospectionService.name));
  private readonly allowStaleByDefault: boolean;
  /** Refresh-ahead and adaptive re-checks (only with a cache). */
  private readonly revalidator?: BackgroundRevalidator;
  /** Fraction of cache hits re-checked in the background (`cache.revalidation.recheckFraction`). */
  private readonly recheckFraction: number;
  /** Logs what this API's policy refused, and requirements the AS's answers may never meet. */
  private readonly policyRefusals: PolicyRefusals;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    @Inject(INTROSPECTION_CACHE) private readonly cache: IntrospectionCache | null,
    private readonly resilience: ResiliencePolicy,
    private readonly client: IntrospectionClient,
    @Inject(INTROSPECTION_TELEMETRY) private readonly telemetry: IntrospectionTelemetry,
    @Optional() @Inject(JWT_ACCESS_TOKENS) private readonly jwt?: TokenPath | null,
    @Optional() @Inject(DPOP_VERIFIER) private readonly dpop?: ProofVerifier | null,
  ) {
    this.allowStaleByDefault = options.outagePolicy === 'serve-stale';
    if (dpop) registerProofVerifier(this, dpop);
    this.signedPolicy = { ...options, requireTokenType: false };
    this.policyRefusals = new PolicyRefusals(options);
    resilience.onStateChange((state) => telemetry.breakerChanged(state));
    client.configuration.onChange((failure) => this.onConfigurationChange(failure));
    client.onAuthorizationServerReset((detail) => void this.onAuthorizationServerReset(detail.tokenAgeMs));
    // An eviction (here or on another replica) detaches lookups in flight: later requests start afresh.
    cache?.onEvicted((keys) => this.flight.forget(keys));
    this.recheckFraction = options.cache ? options.cache.revalidation.recheckFraction : 0;
    if (cache && options.cache) {
      this.revalidator = new BackgroundRevalidator(
        options.cache.revalidation,
        {
          // The request path's own lookup: single-flight (a request arriving meanwhile joins it), resilience
          // (feeds the breaker), the cache's write tickets (an eviction meanwhile wins) and eviction on `active: false`.
          lookup: (token, key) => this.flight.run(key, () => this.lookup(token, key, true)),
          current: (key) => cache.readLocal(key),
          breaker: () => resilience.state,
        },
        telemetry,
      );
    }
  }

  /** A configuration error started or ended: said once, at error level, with the fix; and in the metric. */
  private onConfigurationChange(failure: AuthorizationServerUnavailableError | undefined): void {
    this.telemetry.configurationChanged(failure?.reason);
    const logger = new Logger(IntrospectionService.name);
    if (!failure) logger.log('The configuration error is fixed: the authorization server answers our lookups again.');
    else {
      logger.error(
        `Configuration error (${failure.reason}), not an outage of the authorization server: ${failure.message} ` +
          'Lookups get 503 (readiness is down) until it is fixed; it is checked again at a slow pace (at most every 30 s). The circuit breaker is not involved.',
      );
    }
  }

  private async onAuthorizationServerReset(tokenAgeMs: number): Promise<void> {
    const purge = this.options.purgeCacheOnAuthorizationServerReset && this.cache;
    new Logger(IntrospectionService.name).warn(
      `The authorization server refused our own access token (obtained ${Math.round(tokenAgeMs / 1000)} s ago, not expired): ` +
        `it probably lost its state (restart). Fetched a new token and retried.${purge ? ' Purging cached introspection results.' : ''}`,
    );
    this.telemetry.emit('onAuthorizationServerReset', { tokenAgeMs, purgedCache: Boolean(purge) });
    if (purge) {
      await this.cache!.clear().catch((error: unknown) =>
        this.log.error('purge', `Purging the cache after an authorization-server reset failed: ${(error as Error).message}`),
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
      if (!record && cache.hasShared && !fresh) record = await cache.readShared(key, token, signed ? this.signedPolicyCheck : this.policyCheck);
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
    const shared = this.flight.run(key, () => this.lookup(token, key, cached !== undefined, options?.caller, signed));
    try {
      const result = await (options?.timeoutMs !== undefined || options?.signal ? withDeadline(shared, options, this.options) : shared);
      return this.report(token, result, 'authorization-server', options);
    } catch (error) {
      const stale = error instanceof AuthorizationServerUnavailableError && (options?.allowStale ?? this.allowStaleByDefault)
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
    const now = cache.readLocal(key);
    let record: ActiveRecord | undefined;
    if (now) record = now.result.active ? (now as ActiveRecord) : undefined;
    else if (cache.epoch === epoch) record = seen; // the local front tier may have let it go; nothing was evicted since
    return record && Date.now() < record.staleUntil ? record : undefined;
  }

  /**
   * Verifies a DPoP proof (RFC 9449 §4.3) for a request: signature with the embedded public key, `typ`,
   * `alg`, `htm`, `htu`, `iat`, `ath`, the server nonce when `dpop.nonce` is on, and the `jti` replay check
   * (a proof already used on this replica). Resolves to the proof key's thumbprint: pass it to `introspect()`
   * as `presentation: { scheme: 'dpop', dpopJkt: jkt }`, which checks it against the token's `cnf.jkt`; when
   * the token is accepted, `consumeDpopProof()` records the proof (across replicas with `cache.redis`).
   * Rejects with `DpopProofError` (`error`: `invalid_dpop_proof` or `use_dpop_nonce`). For transports other
   * than HTTP requests through `TokenGuard`, which calls it itself.
   */
  async verifyDpopProof(proof: string, request: DpopRequestContext): Promise<VerifiedDpopProof> {
    if (!this.dpop) throw new DpopProofError('invalid_dpop_proof', 'DPoP is turned off (`dpop: false`).');
    return this.dpop.verify(proof, request);
  }

  /**
   * Records a verified proof as used (its `jti`, RFC 9449 §11.1), once the token it came with was accepted;
   * rejects with `DpopProofError` when it was used before — here or, with `cache.redis`, on another replica.
   */
  async consumeDpopProof(proof: VerifiedDpopProof): Promise<void> {
    if (!this.dpop) throw new DpopProofError('invalid_dpop_proof', 'DPoP is turned off (`dpop: false`).');
    return this.dpop.consume(proof);
  }

  /** The server nonce clients must put in DPoP proofs now (`DPoP-Nonce`), when `dpop.nonce` is on. */
  get dpopNonce(): string | undefined {
    return this.dpop?.currentNonce();
  }

  /**
   * Like `introspect()`, but resolves only to an active result and rejects with `InvalidTokenError`
   * (with its `reason`) otherwise.
   */
  async authenticate(token: string, options?: IntrospectOptions): Promise<ActiveIntrospectionResult> {
    const result = await this.introspect(token, options);
    if (!result.active) throw new InvalidTokenError(result.reason);
    return result;
  }

  /**
   * Forgets what is cached about a token, so its next use asks the authorization server again
   * (call it after revoking a token). A JWT access token that `jwt.mode` validates locally is refused
   * until its `exp` instead, on every replica with a shared store. Rejects if a shared cache store cannot delete it.
   */
  async evict(token: string): Promise<void> {
    // A locally validated JWT cannot be forgotten into a new AS call: it is refused until it expires.
    if (this.jwt) await this.jwt.revoke(token);
    if (this.cache) {
      const key = this.cache.key(token);
      this.cache.forgetToken(token);
      await this.cache.delete([key]);
    } else this.notifyUncached([this.evictionKey(token)]);
  }

  /**
   * Forgets every cached token of a subject (`sub` claim), on every replica (needs `cache.redis` for
   * the index and the broadcast). Resolves to the number of cache entries dropped.
   */
  async evictBySubject(sub: string): Promise<number> {
    // Locally validated JWTs of the subject issued until now are refused (they would validate again).
    if (this.jwt) await this.jwt.revokeBy('sub', sub);
    if (!this.cache) this.notifyUncached('*');
    return this.cache ? this.cache.deleteBy('sub', sub) : 0;
  }

  /** Forgets every cached token issued to a client (`client_id` claim), on every replica (needs `cache.redis`). */
  async evictByClientId(clientId: string): Promise<number> {
    if (this.jwt) await this.jwt.revokeBy('client_id', clientId);
    if (!this.cache) this.notifyUncached('*');
    return this.cache ? this.cache.deleteBy('client_id', clientId) : 0;
  }

  /**
   * Forgets every cached token of an OpenID Connect session (the `sid` claim of the introspection answer or
   * of a locally validated JWT), on every replica (needs `cache.redis` for the index and the broadcast).
   * Used by the back-channel logout and Shared Signals receivers. Resolves to the number of cache entries dropped.
   *
   * With `subject` (the session's `sub`, as a logout token names it), tokens that cannot say which session they
   * belong to are reached too: locally validated JWTs of that subject without a `sid` claim (oidc-provider's JWT
   * access tokens have none) issued up to `subject.issuedAt` (epoch seconds; default now) are refused, and the
   * subject's cached introspection answers are dropped (asked again: the authorization server answers for its
   * other sessions). JWTs that carry a `sid` of another session keep passing.
   */
  async evictBySession(sid: string, subject?: { sub: string; issuedAt?: number }): Promise<number> {
    if (this.jwt) {
      await this.jwt.revokeBy('sid', sid);
      if (subject) await this.jwt.revokeSessionless(subject.sub, subject.issuedAt);
    }
    if (!this.cache) {
      this.notifyUncached('*');
      return 0;
    }
    const bySession = await this.cache.deleteBy('sid', sid);
    return subject ? bySession + (await this.cache.deleteBy('sub', subject.sub)) : bySession;
  }

  /**
   * Refuses the JWT access token with this `jti` (RFC 9068 §2.2) until `jwt.maxTokenLifetimeSeconds` has
   * passed, here and — with a shared store — on every replica, including ones started later. For locally
   * validated JWTs (`jwt.mode` other than 'introspect'), and for cached introspection answers that carry this
   * `jti` (indexed in Redis with `cache.redis`). Rejects if the shared store cannot record it (retry).
   */
  async evictByJti(jti: string): Promise<void> {
    if (this.jwt) await this.jwt.revokeBy('jti', jti);
    await this.cache?.forgetByJti(jti);
    this.notifyUncached('*', true);
  }

  /**
   * Calls `listener` after every eviction, here or (with `cache.redis`) on another replica, with the
   * eviction keys (`evictionKey(token)`) or `'*'` when it may concern any token (by subject, client, jti, purge).
   * For holders of long-lived authentications (WebSocket connections) that must re-check them.
   */
  onEvicted(listener: (keys: readonly string[] | '*') => void): void {
    this.cache?.onEvicted(listener);
    (this.evictionListeners ??= []).push(listener);
  }

  /** The key under which evictions name `token` to `onEvicted` listeners. */
  evictionKey(token: string): string {
    return this.cache ? this.cache.key(token) : hash('sha256', token, 'base64url');
  }

  /** Evictions the cache does not announce (no cache; JWTs by jti) still reach `onEvicted` listeners. */
  private evictionListeners?: Array<(keys: readonly string[] | '*') => void>;
  private notifyUncached(keys: readonly string[] | '*', always = false): void {
    if (always || !this.cache) for (const listener of this.evictionListeners ?? []) listener(keys);
  }

  /** Forgets every cached result, here and on every replica (e.g. after the authorization server lost its state). */
  async purge(): Promise<void> {
    await this.cache?.clear();
  }

  /** State of the circuit breaker in front of the authorization server. */
  get circuitState(): BreakerState {
    return this.resilience.state;
  }

  async onApplicationShutdown(): Promise<void> {
    // Background lookups in flight may still cache their answer (bounded); then the shared store's writes
    // are drained and its connections closed: nothing started by this module touches Redis afterwards.
    await this.revalidator?.stop();
    this.client.close();
    await this.cache?.close();
  }

  /**
   * The last step of every path (fresh, cached, shared, stale, local JWT): a bound token must come with the
   * proof its `cnf` asks for, on each request (RFC 9449 §7.1, RFC 8705 §3). Then emits the validated/rejected
   * hook, if one is configured (the fingerprint costs a hash).
   */
  private report(token: string, found: IntrospectionResult, source: ResultSource, options?: IntrospectOptions): IntrospectionResult {
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

  /**
   * One call to the authorization server (shared by concurrent callers of the same token).
   * @param signed the verified claims of a JWT access token this API validated locally: the AS's answer says
   *   whether it is still active (and may add claims); what the answer omits (`aud`, `iss`, `exp`, …) comes
   *   from the signed token, whose `typ` already says it is an access token.
   */
  private async lookup(
    token: string,
    key: string,
    knownToken = false,
    caller?: string,
    signed?: ActiveIntrospectionResult,
  ): Promise<IntrospectionResult> {
    const started = Date.now();
    this.telemetry.lookupStarted();
    const ticket = this.cache?.openTicket(key);
    try {
      const answer = await this.resilience.execute((signal) => this.client.introspect(token, signal), knownToken, caller);
      const jwt = this.jwt?.handles(token) === true;
      // A background re-check of a JWT answer cached by a request: the signed claims are verified again.
      if (jwt && !signed && answer.active === true) signed = await this.jwt!.signedClaims(token);
      const response = signed && answer.active === true ? withSignedClaims(answer, signed) : answer;
      const now = Date.now();
      const result = validateClaims(response, signed ? this.signedPolicy : this.options, now / 1000, this.answeringIssuer());
      this.telemetry.lookupFinished(result.active ? 'active' : 'inactive', (now - started) / 1000);
      this.policyRefusals.report(token, result.active ? undefined : result.reason, response, this.answeringIssuer());
      // Only a verdict that holds for every route may be remembered. For a JWT this API validates locally, that
      // is the AS's own `active: false`: a refusal of the answer (an AS that cannot introspect JWTs, a claim the
      // signed token could not vouch for) says nothing the next, local validation would not say again.
      const notForEveryRoute = !result.active && jwt && !(answer.active === false && !(TOKEN_REJECTED in answer));
      if (this.cache && ticket && notForEveryRoute) this.cache.abandon(ticket);
      else if (this.cache && ticket) {
        if (result.active) this.cache.storeActive(key, token, response as SharedEntry['response'], result, now, ticket);
        else this.cache.storeInactive(key, result, now, ticket, answer.active === false);
      }
      return result;
    } catch (error) {
      if (ticket) this.cache!.abandon(ticket);
      const elapsedMs = Date.now() - started;
      const reason = error instanceof AuthorizationServerUnavailableError ? error.reason : 'unexpected_error';
      this.telemetry.lookupFinished('error', elapsedMs / 1000, reason);
      this.reportFailure(error, token, elapsedMs);
      throw error;
    }
  }

  /**
   * The issuer of the authorization server that answers, when known: the `issuer` option, discovery, or — with
   * only `introspectionEndpoint` — `expectedIssuer`: the endpoint the operator configured speaks for the issuer
   * they expect, so an answer without `iss` (optional in RFC 7662; Glewlwyd omits it) is that issuer's.
   */
  private answeringIssuer(): string | undefined {
    return this.client.endpoints.known()?.issuer ?? (this.options.issuer === undefined ? this.options.expectedIssuer : undefined);
  }

  /** This API's policy, applied to entries other replicas wrote to the shared store. */
  private readonly policyCheck: PolicyCheck = (response, nowMs) =>
    validateClaims(response as IntrospectionResponse, this.options, nowMs / 1000, this.answeringIssuer());

  /** The policy for answers about a locally validated JWT (merged with its signed claims): its `typ` is its token type. */
  private readonly signedPolicy: ResolvedOptions;
  private readonly signedPolicyCheck: PolicyCheck = (response, nowMs) =>
    validateClaims(response as IntrospectionResponse, this.signedPolicy, nowMs / 1000, this.answeringIssuer());

  private reportFailure(error: unknown, token: string, elapsedMs: number): void {
    if (!(error instanceof AuthorizationServerUnavailableError)) return;
    // Built only when the rate limiter lets the line through: an outage must not cost a hash per request.
    const line = () =>
      `${error.configurationError ? 'Configuration error' : 'Authorization server unavailable'} (${error.reason}${error.status ? `, HTTP ${error.status}` : ''}) ` +
      `at ${this.client.endpoints.known()?.introspectionEndpoint.host ?? this.options.issuer ?? 'unknown'} after ${elapsedMs} ms ` +
      `for token ${tokenFingerprint(token)}: ${error.message} Answering 'unavailable' (retry after ${error.retryAfterSeconds} s).`;
    if (error.configurationError) this.log.error(error.reason, line);
    else this.log.warn(error.reason, line);
    if (this.telemetry.events.onAuthorizationServerUnavailable) {
      this.telemetry.emit('onAuthorizationServerUnavailable', {
        fingerprint: tokenFingerprint(token),
        reason: error.reason,
        status: error.status,
        retryAfterSeconds: error.retryAfterSeconds,
        elapsedMs,
      });
    }
  }
}

/**
 * Races the shared lookup against this caller's own deadline and abort signal. The shared promise
 * always keeps a handler: it may settle long after this caller gave up.
 */
function withDeadline<T>(shared: Promise<T>, options: IntrospectOptions, resolved: ResolvedOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const signal = options.signal;
    const fail = () => {
      cleanup();
      reject(callerGaveUp(resolved));
    };
    const timer = options.timeoutMs !== undefined ? setTimeout(fail, options.timeoutMs) : undefined;
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', fail);
    };
    signal?.addEventListener('abort', fail, { once: true });
    shared.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

function callerGaveUp(resolved: ResolvedOptions): AuthorizationServerUnavailableError {
  return new AuthorizationServerUnavailableError(
    'timeout',
    resolved.resilience.retryAfterSeconds,
    'The caller stopped waiting for the authorization server (its deadline passed or it was aborted).',
  );
}

/** The AS's answer about a locally validated JWT, with the signed token's claims where the answer omits them. */
function withSignedClaims(answer: IntrospectionResponse, signed: ActiveIntrospectionResult): IntrospectionResponse {
  const { scopes: _scopes, stale: _stale, ...claims } = signed as ActiveIntrospectionResult & { stale?: boolean };
  return { ...claims, ...answer };
}
