import { hash } from 'node:crypto';
import type { Keyv } from 'keyv';
import type { ActiveIntrospectionResult, InactiveIntrospectionResult, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { CacheEvictions } from './cache-evictions.js';
import { CacheSharedState } from './cache-shared-state.js';
import { CLOCK_MARGIN_MS, EvictionLedger, tombstoneTtlMs, type WriteTicket } from './eviction-ledger.js';
import { LocalTier, type ActiveRecord, type LocalRecord } from './local-tier.js';
import type { CacheCoordinator, Eviction, IndexedClaim } from './redis-coordinator.js';
import type { SharedEntry } from './sealed-entry.js';
import { SharedTier } from './shared-tier.js';
import { TokenKeyMemo } from './token-key-memo.js';

export type { ActiveRecord, InactiveRecord, LocalRecord } from './local-tier.js';
export { WriteTicket } from './eviction-ledger.js';
export { toKeyvList } from './shared-tier.js';

type CacheOptions = Exclude<ResolvedOptions['cache'], false>;

/** How old an in-process active answer may be while the eviction subscription is unproven (see `visible`). */
const SUSPECT_LOCAL_MAX_AGE_MS = 1000;

/** Applies this API's policy to a response from the shared store (another replica, or version, may have written it). */
export type PolicyCheck = (response: SharedEntry['response'], nowMs: number) => IntrospectionResult;

/**
 * Introspection results, keyed by SHA-256(namespace, token) — never the token.
 *
 * - In process (`LocalTier`): one record per key, active or inactive, so the last answer wins by
 *   construction. With a shared store it is a short front tier (`localTtlSeconds`) that every replica
 *   drops on eviction (Redis pub/sub).
 * - Shared (`SharedTier`: the user's Keyv store, or Redis): active entries only, sealed with a key derived
 *   from the token, behind a timeout and a breaker: a failing store reads as a miss. Each replica
 *   re-validates what it reads under its own policy (audience, issuer, leeway).
 * - Evictions (`CacheEvictions`) win over lookups already in flight (`EvictionLedger`): the lookup's ticket
 *   stops being current locally, and a tombstone in the shared store (written before the entries are
 *   deleted) makes a replica that writes a pre-eviction answer after the eviction delete it again.
 */
export class IntrospectionCache {
  private readonly local: LocalTier;
  private readonly shared?: SharedTier;
  private readonly ledger = new EvictionLedger();
  private readonly evictions: CacheEvictions;
  private readonly keyBase: string;
  private readonly localTtlMs: number;
  /** The eviction subscription may be deaf (`CacheCoordinator.onSuspect`): active in-process records are not served. */
  private localSuspended = false;
  /** The raw-token → key memo of active hits (see `TokenKeyMemo`). */
  private readonly keys: TokenKeyMemo;
  /** The `SHARED_STATE` port on this cache's stores (replay records, revocation marks): features use it, not the cache. */
  readonly sharedState: CacheSharedState;

  constructor(
    private readonly options: CacheOptions,
    namespace: string,
    sharedStores: Keyv[] | undefined,
    private readonly coordinator?: CacheCoordinator,
    tombstoneStore?: Keyv,
    /** The longest a lookup can take (the resilience deadline): how long a tombstone must outlive an eviction. */
    lookupDeadlineMs = 5000,
  ) {
    this.keyBase = `${namespace}\u0000`;
    this.keys = new TokenKeyMemo(this.keyBase, options.maxEntries);
    this.localTtlMs = sharedStores ? options.localTtlMs : Number.POSITIVE_INFINITY;
    const markerTtlMs = tombstoneTtlMs(lookupDeadlineMs, options.storeTimeoutMs);
    this.local = new LocalTier(options.maxEntries, options.maxNegativeEntries, markerTtlMs);
    const claimHash = coordinator ? (value: string) => coordinator.claimHash(value) : (value: string) => hash('sha256', this.keyBase + value, 'base64url');
    if (sharedStores) {
      const context = { keyBase: this.keyBase, tombstoneTtlMs: markerTtlMs, ledger: this.ledger, local: this.local, claimHash, coordinator };
      this.shared = new SharedTier(sharedStores, tombstoneStore, options.storeTimeoutMs, context);
    }
    this.sharedState = new CacheSharedState(coordinator, this.shared);
    this.evictions = new CacheEvictions({ local: this.local, shared: this.shared, ledger: this.ledger, coordinator, keys: this.keys, claimHash });
    coordinator?.onEvicted((eviction) => this.evictions.onRemoteEviction(eviction));
    coordinator?.onResync?.(() => void this.evictions.afterResync());
    // While the eviction subscription may be deaf, active answers are not served from process memory (the shared
    // tier and the AS carry the evictions); what was cached meanwhile goes when it hears again.
    coordinator?.onSuspect?.((suspect) => {
      this.localSuspended = suspect;
      this.evictions.dropLocalCopies();
    });
  }

  /** The cache key of a token: base64url(SHA-256(namespace, token)). */
  key(token: string): string {
    return this.keys.key(token);
  }

  /** The in-process record of a token, read synchronously: the hot path of a cache hit (see `TokenKeyMemo.read`). */
  readLocalToken(token: string, now = Date.now()): LocalRecord | undefined {
    return this.visible(this.keys.read(this.local, token, now), now);
  }

  /** Drops a token from the raw-token memo (`evict(token)`: a revoked token is not kept in memory until presented again). */
  forgetToken(token: string): void {
    this.keys.delete(token);
  }

  /** `sharedState.claimOnce` (see `SharedState`). */
  async firstUseShared(id: string, ttlMs: number, kind?: string, value?: string): Promise<boolean | undefined> {
    return this.sharedState.claimOnce(id, ttlMs, kind, value);
  }

  /** `sharedState.recorded`. */
  async recordedShared(id: string, kind?: string): Promise<string | null> {
    return this.sharedState.recorded(id, kind);
  }

  /** `sharedState.record`. */
  async recordShared(id: string, value: string, ttlMs: number, kind?: string): Promise<void> {
    return this.sharedState.record(id, value, ttlMs, kind);
  }

  /** `sharedState.release`. */
  async releaseShared(id: string, kind?: string): Promise<void> {
    return this.sharedState.release(id, kind);
  }

  /** Whether there is a shared store behind the in-process tier (then `readShared` may find more). */
  get hasShared(): boolean {
    return this.shared !== undefined;
  }

  /** Counts evictions seen by this process: a caller holding a record can tell whether one happened since. */
  get epoch(): number {
    return this.ledger.epoch;
  }

  /** Called for each active answer the shared store did not take (the write failed: the answer stays in process memory). */
  onSharedWriteDropped(listener: () => void): void {
    this.shared?.onDropped(listener);
  }

  /** Called with the keys of every eviction (local or from another replica; '*' for all). */
  onEvicted(listener: (keys: readonly string[] | '*') => void): void {
    this.ledger.onEvicted(listener);
  }

  /** Opens a lookup's write ticket (see `WriteTicket`); `storeActive` / `storeInactive` / `abandon` close it. */
  openTicket(key: string): WriteTicket {
    return this.ledger.openTicket(key);
  }

  /** Closes the ticket of a lookup that failed (nothing to cache). */
  abandon(ticket: WriteTicket): void {
    this.ledger.abandon(ticket);
  }

  /** The in-process record of a key, read synchronously: a cache hit costs a hash and a map lookup. */
  readLocal(key: string): LocalRecord | undefined {
    return this.visible(this.local.get(key, Date.now()));
  }

  /** The in-process record of a key, however old, for serve-stale (`TokenEngine.staleRecord`): `visible` does not apply. */
  readLocalForStale(key: string): LocalRecord | undefined {
    return this.local.get(key, Date.now());
  }

  /**
   * A record as served. While the eviction subscription is unproven (its heartbeat not heard: a deaf subscription, or
   * this replica cut off from Redis while others still publish evictions), an active answer is served from process
   * memory only within `SUSPECT_LOCAL_MAX_AGE_MS` of the lookup that produced it: a revocation then reaches this
   * replica within about a second, and the authorization server sees at most one lookup per token and second.
   */
  private visible(record: LocalRecord | undefined, now = Date.now()): LocalRecord | undefined {
    if (!this.localSuspended || !record?.result.active) return record;
    return now - (record as ActiveRecord).fetchedAt <= SUSPECT_LOCAL_MAX_AGE_MS ? record : undefined;
  }

  /**
   * The shared store (behind its timeout and breaker). An entry is opened with the token, then
   * validated under this API's policy; the outcome is remembered in process.
   */
  async readShared(key: string, token: string, check: PolicyCheck): Promise<LocalRecord | undefined> {
    if (!this.shared) return undefined;
    const started = Date.now();
    const read = await this.shared.read(key);
    const now = Date.now();
    // Whatever this process learned while the read was on the wire (an eviction, a newer answer) wins over it.
    if (this.local.changedSince(key, started)) return this.visible(this.local.get(key, now));
    const entry = this.shared.open(read, key, token, now);
    if (!entry) return undefined;
    const result = check(entry.response, now);
    if (result.active && this.evictions.claimEvictedSince(result, entry.startedAt - CLOCK_MARGIN_MS)) return undefined;
    if (!result.active) {
      // Active at the AS, but not for this API: remembered here only (another API may accept it).
      const record = { result, until: now + this.options.negativeTtlMs };
      this.local.setInactive(key, record, now);
      return record;
    }
    const record = this.activeRecord(result, entry.freshUntil, entry.staleUntil, now, entry.startedAt);
    this.local.setActive(key, record, now);
    return record;
  }

  /**
   * Caches an active answer of the authorization server: fresh for min(ttl, exp − now), kept for
   * serve-stale until min(+staleIfError, exp). Nothing is cached when an eviction happened since
   * the lookup started.
   */
  storeActive(key: string, token: string, response: SharedEntry['response'], result: ActiveIntrospectionResult, now: number, ticket: WriteTicket): void {
    if (!ticket.current || this.evictions.claimEvictedSince(result, ticket.startedAt)) return this.abandon(ticket);
    const expMs = typeof result.exp === 'number' ? result.exp * 1000 : Number.POSITIVE_INFINITY;
    const freshUntil = Math.min(now + this.options.ttlMs, expMs);
    const staleUntil = Math.min(freshUntil + this.options.staleIfErrorMs, expMs);
    if (freshUntil <= now) return this.abandon(ticket);
    this.local.setActive(key, this.activeRecord(result, freshUntil, staleUntil, now, ticket.startedAt), now);
    const shared = this.shared;
    if (!shared || shared.closing) return this.abandon(ticket);
    const entry: SharedEntry = { response, freshUntil, staleUntil, startedAt: ticket.startedAt, origin: this.ledger.origin };
    shared.detached(shared.write(key, token, entry, result, ticket).finally(() => this.abandon(ticket)));
  }

  /**
   * Caches a rejection (`negativeTtlSeconds`), replacing any active record of the key. When the
   * authorization server itself said `active: false`, the key is also dropped from the shared store
   * and from every replica's memory: what the AS said last counts everywhere.
   */
  storeInactive(key: string, result: InactiveIntrospectionResult, now: number, ticket: WriteTicket, fromAuthorizationServer: boolean): void {
    this.abandon(ticket);
    if (fromAuthorizationServer) {
      // The AS's newest word: it ends every earlier answer, even from lookups that began before this one.
      this.ledger.detach([key]);
      this.local.delete([key], now);
      if (this.shared && !this.shared.closing) this.shared.detached(this.shared.forget([key], now));
    } else if (!ticket.current) {
      return;
    }
    this.local.setInactive(key, { result, until: now + this.options.negativeTtlMs }, now);
  }

  /** Forgets tokens here, in the shared store and on every replica (see `CacheEvictions.delete`). */
  async delete(keys: readonly string[], by?: Eviction['by']): Promise<void> {
    return this.evictions.delete(keys, by);
  }

  /** Forgets every cached token of a `sub`, `client_id`, `sid` or `jti`; resolves to the number of keys found (see `CacheEvictions.deleteBy`). */
  async deleteBy(claim: IndexedClaim, value: string): Promise<number> {
    return this.evictions.deleteBy(claim, value);
  }

  /** Forgets the results carrying this `jti`; resolves to the keys dropped (see `CacheEvictions.forgetByJti`). */
  async forgetByJti(jti: string): Promise<number> {
    return this.evictions.forgetByJti(jti);
  }

  /** Forgets everything (e.g. after an authorization-server reset), here, in the shared store and on every replica. */
  async clear(): Promise<void> {
    return this.evictions.clear();
  }

  /**
   * On application shutdown: no new shared-store work starts; writes still running (a lookup's entry, an undo)
   * may finish within `withinMs`; then the store is closed to this cache (reads miss, writes are dropped,
   * evictions reject — nothing can reopen a connection) and the Redis connections are closed, bounded in time.
   */
  async close(withinMs = Math.max(1000, 5 * this.options.storeTimeoutMs)): Promise<void> {
    await this.shared?.close(withinMs);
    await this.coordinator?.close();
  }

  /**
   * JWT access tokens validated locally (lib/jwt): remembered in process only (nothing to share: every
   * replica can verify a signature), unless an eviction happened since the verification started (`epoch`).
   * A rejection is remembered like an inactive answer (`negativeTtlSeconds`), so a replayed forgery costs no
   * second signature check.
   */
  rememberLocal(key: string, result: IntrospectionResult, freshUntil: number, epoch: number): void {
    const now = Date.now();
    if (epoch !== this.ledger.epoch) return;
    if (!result.active) return this.local.setInactive(key, { result, until: now + this.options.negativeTtlMs }, now);
    if (freshUntil <= now) return;
    const until = Math.min(freshUntil, now + this.localTtlMs);
    // Not introspected: nothing to refresh ahead.
    this.local.setActive(key, { result, freshUntil, staleUntil: freshUntil, until, fetchedAt: now, refreshAt: Number.POSITIVE_INFINITY }, now);
  }

  /** `sharedState.writeMark`: a revocation mark of a locally validated JWT (see `SharedState`). */
  async writeMark(mark: string, value: number, ttlMs: number): Promise<void> {
    return this.sharedState.writeMark(mark, value, ttlMs);
  }

  /** `sharedState.readMarks`. */
  async readMarks(marks: readonly string[]): Promise<Array<number | undefined>> {
    return this.sharedState.readMarks(marks);
  }

  /**
   * A record of an AS answer obtained by a lookup that started at `fetchedAt`. Its refresh-ahead point is
   * computed once here, so a hit compares one number; an entry that ends at the token's `exp` is never
   * refreshed (a new answer could not extend it).
   */
  private activeRecord(result: ActiveIntrospectionResult, freshUntil: number, staleUntil: number, now: number, fetchedAt: number): ActiveRecord {
    const window = this.options.revalidation.refreshAheadWindow;
    const endsAtExp = typeof result.exp === 'number' && result.exp * 1000 <= freshUntil;
    const refreshAt = window > 0 && !endsAtExp ? freshUntil - window * this.options.ttlMs : Number.POSITIVE_INFINITY;
    return { result, freshUntil, staleUntil, until: Math.min(staleUntil, now + this.localTtlMs), fetchedAt, refreshAt };
  }
}
