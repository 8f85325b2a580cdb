import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { EvictionLedger } from './eviction-ledger.js';
import type { LocalTier } from './local-tier.js';
import { RecentEvictions } from './recent-evictions.js';
import { INDEXED_CLAIMS, type CacheCoordinator, type Eviction, type IndexedClaim } from './redis-coordinator.js';
import type { SharedTier } from './shared-tier.js';
import type { TokenKeyMemo } from './token-key-memo.js';

/** What evictions act on: the cache's tiers, its ledger, its raw-token memo and the claim hash. */
export interface EvictionTargets {
  readonly local: LocalTier;
  readonly shared?: SharedTier;
  readonly ledger: EvictionLedger;
  readonly coordinator?: CacheCoordinator;
  /** The cache's raw-token → key memo (`IntrospectionCache.keys`): evicted keys leave it too. */
  readonly keys: TokenKeyMemo;
  /** The hash a claim value is indexed, broadcast and tombstoned under. */
  readonly claimHash: (value: string) => string;
}

/**
 * Evictions of the cache, local and from other replicas: by key, by claim (`sub`, `client_id`, `sid`, `jti`)
 * and everything. Each drops the keys here (and counts in the ledger's `epoch`), revokes the write tickets of
 * lookups in flight, then reaches the shared store and every replica (tombstones, deletion, broadcast).
 */
export class CacheEvictions {
  /** The evictions of the last 30 s, made here or heard: applied again to the shared store after a failover (`afterResync`). */
  private readonly recent = new RecentEvictions();

  constructor(private readonly targets: EvictionTargets) {}

  /**
   * Forgets tokens here, in the shared store and on every replica; lookups in flight for them are
   * detached and will not be cached. Rejects if the shared store or the broadcast fails (the
   * revocation did not fully happen: retry).
   */
  async delete(keys: readonly string[], by?: Eviction['by']): Promise<void> {
    const { shared, ledger, coordinator } = this.targets;
    const at = Date.now();
    this.recent.add({ keys, by, at });
    this.dropLocal(keys, at);
    if (by) ledger.detach('*');
    if (shared) await shared.forget(keys, at, by);
    else await coordinator?.publishEviction({ keys, by });
  }

  /**
   * Forgets every cached token of a subject (`sub`), a client (`client_id`), a session (`sid`) or with a
   * token identifier (`jti`). With `cache.redis`,
   * on every replica through the index (kept until the entries are gone, so a failure can be retried);
   * without a shared store, in this process. Resolves to the number of keys found.
   */
  async deleteBy(claim: IndexedClaim, value: string): Promise<number> {
    const { local, shared, ledger, coordinator } = this.targets;
    if (shared && !coordinator) {
      throw new Error(`Eviction by ${claim} needs an index of the shared store: use \`cache.redis\` instead of \`cache.store\`.`);
    }
    const at = Date.now();
    const hash = this.targets.claimHash(value);
    // Lookups in flight may be for tokens of this claim value that no index knows yet: detach them all.
    local.markClaim(`${claim}:${hash}`, at);
    ledger.detach('*');
    const found = local.activeKeysWhere((result) => result[claim] === value);
    if (!coordinator) {
      this.dropLocal(found, at);
      this.targets.keys.forgetKeys(found);
      return found.length;
    }
    const indexed = await coordinator.keysFor(claim, value);
    const all = [...new Set([...indexed, ...found])];
    this.recent.add({ keys: all, by: { claim, hash }, at });
    this.dropLocal(all, at);
    this.targets.keys.forgetKeys(all);
    await shared!.forget(all, at, { claim, hash });
    await coordinator.unindex(claim, value, indexed);
    return all.length;
  }

  /**
   * Forgets the results carrying this `jti`: with `cache.redis` through the index (shared entries of opaque
   * tokens whose introspection answer has a `jti`) and the broadcast, like `deleteBy`; with a plain
   * `cache.store`, the in-memory results here only (JWT verifications are kept in memory only). Resolves to the keys dropped.
   */
  async forgetByJti(jti: string): Promise<number> {
    if (this.targets.coordinator || !this.targets.shared) return this.deleteBy('jti', jti);
    const keys = this.targets.local.activeKeysWhere((result) => result.jti === jti);
    this.dropLocal(keys);
    this.targets.keys.forgetKeys(keys);
    return keys.length;
  }

  /** Forgets everything (e.g. after an authorization-server reset), here, in the shared store and on every replica. */
  async clear(): Promise<void> {
    const at = Date.now();
    this.recent.add({ keys: '*', at });
    this.dropLocal('*', at);
    if (this.targets.shared) await this.targets.shared.clear(at);
    await this.targets.coordinator?.publishEviction({ keys: '*' });
  }

  /** Whether the result's subject, client, session or jti was evicted since `since` (only hashes when an eviction by claim is remembered). */
  claimEvictedSince(result: ActiveIntrospectionResult, since: number): boolean {
    const { local, claimHash } = this.targets;
    if (!local.hasMarkers) return false;
    for (const claim of INDEXED_CLAIMS) {
      const value = result[claim];
      if (typeof value === 'string' && local.claimEvictedSince(`${claim}:${claimHash(value)}`, since)) return true;
    }
    return false;
  }

  /** An eviction another replica (or this one) broadcast. */
  onRemoteEviction(eviction: Eviction): void {
    this.recent.add({ keys: eviction.keys, by: eviction.by, at: Date.now() });
    if (eviction.keys === '*') return this.dropLocal('*');
    const { local, ledger, claimHash } = this.targets;
    const keys = [...eviction.keys];
    const by = eviction.by;
    if (by) {
      local.markClaim(`${by.claim}:${by.hash}`, Date.now());
      ledger.detach('*');
      keys.push(...local.activeKeysWhere((result) => typeof result[by.claim] === 'string' && claimHash(result[by.claim] as string) === by.hash));
      this.targets.keys.forgetKeys(keys);
    }
    this.dropLocal(keys);
  }

  /**
   * The subscription reconnected or moved, or the Redis master changed: broadcasts may have been missed, and a new
   * master may lack the last evictions (asynchronous replication). The in-process records go, the recent evictions are
   * applied again to the shared store (deletes and tombstones, no broadcast: every replica does it), and the in-process
   * records go once more (a read in between may have brought back an entry the new master still had).
   */
  async afterResync(): Promise<void> {
    this.dropLocalCopies();
    const shared = this.targets.shared;
    if (!shared) return;
    for (const e of this.recent.within()) await (e.keys === '*' ? shared.clear(e.at) : shared.reapply(e.keys, e.at, e.by)).catch(() => undefined);
    this.dropLocalCopies();
  }

  /** Eviction broadcasts may have been missed: every in-process record goes (nothing in the shared store changes). */
  dropLocalCopies(): void {
    this.targets.ledger.counted();
    this.targets.local.clear(Date.now());
    this.targets.keys.clear();
  }

  private dropLocal(keys: readonly string[] | '*', at = Date.now()): void {
    const { local, ledger } = this.targets;
    ledger.counted();
    if (keys === '*') {
      local.clear(at);
      this.targets.keys.clear();
    } else local.delete(keys, at);
    ledger.detach(keys);
  }
}
