import { hash } from 'node:crypto';
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { IntrospectionCache } from './cache/introspection.cache.js';
import { IntrospectionClient } from './client/introspection.client.js';
import { AuthorizationServerUnavailableError, DpopProofError, InvalidTokenError } from './errors/introspection.errors.js';
import {
  DPOP_VERIFIER,
  INTROSPECTION_CACHE,
  INTROSPECTION_TELEMETRY,
  JWT_ACCESS_TOKENS,
  RESOLVED_OPTIONS,
  TENANT_SERVICES,
} from './introspection.constants.js';
import { type DpopRequestContext, type ProofVerifier, type TokenPath, type VerifiedDpopProof } from './ports.js';
import type { IntrospectionTelemetry } from './telemetry/introspection.telemetry.js';
import type { ActiveIntrospectionResult, EvictOptions, IntrospectOptions, IntrospectionResult } from './interfaces/introspection-result.interface.js';
import { inactive } from './client/introspection-response.js';
import type { ResolvedOptions } from './options/resolved-options.js';
import { ResiliencePolicy, type BreakerState } from './resilience/resilience.policy.js';
import { TokenEngine } from './engine/token-engine.js';
import { worstBreakerState } from './resilience/breaker-state.js';
import { RateLimitedLogger } from './utils/rate-limited-logger.js';

const sum = (counts: readonly number[]): number => counts.reduce((a, b) => a + b, 0);

/**
 * Asks the authorization server whether a token is active (RFC 7662), with caching, single-flight,
 * timeouts, retries, a circuit breaker and a bulkhead in between. Knows nothing of HTTP requests:
 * use it from guards, GraphQL contexts, WebSocket gateways or message handlers alike.
 */
@Injectable()
export class IntrospectionService implements OnApplicationShutdown {
  private readonly log = new RateLimitedLogger(new Logger(IntrospectionService.name));
  /** The lookup pipeline: tiers, single-flight, the authorization server, stale answers, revalidation. */
  private readonly engine: TokenEngine;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    @Inject(INTROSPECTION_CACHE) private readonly cache: IntrospectionCache | null,
    private readonly resilience: ResiliencePolicy,
    private readonly client: IntrospectionClient,
    @Inject(INTROSPECTION_TELEMETRY) private readonly telemetry: IntrospectionTelemetry,
    @Optional() @Inject(JWT_ACCESS_TOKENS) private readonly jwt?: TokenPath | null,
    @Optional() @Inject(DPOP_VERIFIER) private readonly dpop?: ProofVerifier | null,
    /** With `tenants`: each tenant's service; this one then only routes to them (see `tenant()`). */
    @Optional() @Inject(TENANT_SERVICES) private readonly tenants?: ReadonlyMap<string, IntrospectionService> | null,
  ) {
    this.engine = new TokenEngine(options, cache, resilience, client, telemetry, jwt, new Logger(IntrospectionService.name));
    resilience.onStateChange((state) => telemetry.breakerChanged(state));
    cache?.onSharedWriteDropped(() => telemetry.sharedWriteDropped());
    client.configuration.onChange((failure) => this.onConfigurationChange(failure));
    client.onAuthorizationServerReset((detail) => void this.onAuthorizationServerReset(detail.tokenAgeMs));
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
      await this.cache
        .clear()
        .catch((error: unknown) => this.log.error('purge', `Purging the cache after an authorization-server reset failed: ${(error as Error).message}`));
    }
  }

  /**
   * Introspects a token. Resolves to the validated RFC 7662 result — `{ active: false, reason }` for
   * a token that is unknown, revoked, expired, not an access token or not meant for this API — and
   * rejects with `AuthorizationServerUnavailableError` when the authorization server cannot answer.
   */
  introspect(token: string, options?: IntrospectOptions): Promise<IntrospectionResult> {
    if (this.tenants) return this.routed(options)?.introspect(token, options) ?? Promise.resolve(inactive('unknown_tenant'));
    return this.engine.introspect(token, options);
  }

  /**
   * With `tenants`: the service of one tenant (the same methods, on that tenant's authorization server, cache, breaker
   * and keys only). Throws `InvalidTokenError` (`unknown_tenant`) for a name that is not configured, and always
   * without `tenants`.
   */
  tenant(name: string): IntrospectionService {
    const service = this.tenants?.get(name);
    if (!service) throw new InvalidTokenError('unknown_tenant');
    return service;
  }

  /** The configured tenant names (`tenants`), in configuration order; empty without `tenants`. */
  get tenantNames(): readonly string[] {
    return this.tenants ? [...this.tenants.keys()] : [];
  }

  /** The tenant service a lookup names, or undefined (no tenant, or one that is not configured). */
  private routed(options: IntrospectOptions | EvictOptions | undefined): IntrospectionService | undefined {
    const name = options?.tenant;
    return name === undefined ? undefined : this.tenants!.get(name);
  }

  /** The tenant services an eviction concerns: the named one (an unknown name throws), or every one. */
  private scope(options: EvictOptions | undefined): IntrospectionService[] {
    return options?.tenant === undefined ? [...this.tenants!.values()] : [this.tenant(options.tenant)];
  }

  /**
   * The answer this process holds in memory for a token, when it is fresh, else undefined (then call
   * `introspect()`): synchronous, no I/O, no promise. The same checks as `introspect()` on a cache hit
   * (the presentation's DPoP/mTLS binding, events, metrics). JWT access tokens and `requireIntrospection`
   * always answer undefined. What `TokenGuard` tries first on every request.
   */
  cachedResult(token: string, options?: IntrospectOptions): IntrospectionResult | undefined {
    if (this.tenants) return this.routed(options)?.cachedResult(token, options) ?? inactive('unknown_tenant');
    return this.engine.cachedResult(token, options);
  }

  /**
   * Verifies a DPoP proof (RFC 9449 §4.3) for a request: signature with the embedded public key, `typ`,
   * `alg`, `htm`, `htu`, `iat`, `ath`, the server nonce when `dpop.nonce` is on, and the `jti` replay check
   * (a proof already used on this replica). Resolves to the proof key's thumbprint: pass it to `introspect()`
   * as `presentation: { scheme: 'dpop', dpopJkt: jkt }`, which checks it against the token's `cnf.jkt`; when
   * the token is accepted, `consumeDpopProof()` records the proof (across replicas with `cache.redis`).
   * Rejects with `DpopProofError` (`error`: `invalid_dpop_proof` or `use_dpop_nonce`). `TokenGuard` calls it
   * (with `consumeDpopProof()` and `dpopNonce`) for `Authorization: DPoP` requests; call it yourself for other transports.
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
   * With `tenants`: at `options.tenant`, else at every tenant.
   */
  async evict(token: string, options?: EvictOptions): Promise<void> {
    if (this.tenants) return void (await Promise.all(this.scope(options).map((tenant) => tenant.evict(token))));
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
   * the index and the broadcast). Resolves to the number of cache entries dropped. With `tenants`: at `options.tenant`, else at every tenant.
   */
  async evictBySubject(sub: string, options?: EvictOptions): Promise<number> {
    if (this.tenants) return sum(await Promise.all(this.scope(options).map((tenant) => tenant.evictBySubject(sub))));
    // Locally validated JWTs of the subject issued until now are refused (they would validate again).
    if (this.jwt) await this.jwt.revokeBy('sub', sub);
    if (!this.cache) this.notifyUncached('*');
    return this.cache ? this.cache.deleteBy('sub', sub) : 0;
  }

  /** Forgets every cached token issued to a client (`client_id` claim), on every replica (needs `cache.redis`). With `tenants`: at `options.tenant`, else at every tenant. */
  async evictByClientId(clientId: string, options?: EvictOptions): Promise<number> {
    if (this.tenants) return sum(await Promise.all(this.scope(options).map((tenant) => tenant.evictByClientId(clientId))));
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
   * other sessions). JWTs that carry a `sid` of another session keep passing. With `tenants`: at `options.tenant`, else at every tenant.
   */
  async evictBySession(sid: string, subject?: { sub: string; issuedAt?: number }, options?: EvictOptions): Promise<number> {
    if (this.tenants) return sum(await Promise.all(this.scope(options).map((tenant) => tenant.evictBySession(sid, subject))));
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
   * With `tenants`: at `options.tenant`, else at every tenant.
   */
  async evictByJti(jti: string, options?: EvictOptions): Promise<void> {
    if (this.tenants) return void (await Promise.all(this.scope(options).map((tenant) => tenant.evictByJti(jti))));
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
    for (const tenant of this.tenants?.values() ?? []) tenant.onEvicted(listener);
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

  /**
   * Forgets every cached result, here and on every replica (e.g. after the authorization server lost its state).
   * With `tenants`: at `options.tenant`, else at every tenant.
   */
  async purge(options?: EvictOptions): Promise<void> {
    if (this.tenants) return void (await Promise.all(this.scope(options).map((tenant) => tenant.purge())));
    await this.cache?.clear();
  }

  /** State of the circuit breaker in front of the authorization server; with `tenants`, the worst of theirs (`tenant(name).circuitState` for one). */
  get circuitState(): BreakerState {
    if (!this.tenants) return this.resilience.state;
    return worstBreakerState([...this.tenants.values()].map((tenant) => tenant.circuitState));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...(this.tenants?.values() ?? [])].map((tenant) => tenant.onApplicationShutdown()));
    // Background lookups in flight may still cache their answer (bounded); then the shared store's writes
    // are drained and its connections closed: nothing started by this module touches Redis afterwards.
    await this.engine.stop();
    this.client.close();
    await this.cache?.close();
  }
}
