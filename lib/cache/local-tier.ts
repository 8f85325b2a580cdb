import { LRUCache } from 'lru-cache';
import type { ActiveIntrospectionResult, InactiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';

/** What this process remembers about an active token. No raw token. */
export interface ActiveRecord {
  readonly result: ActiveIntrospectionResult;
  /** Until when (epoch ms) the result is used without asking the authorization server. */
  readonly freshUntil: number;
  /** Until when (epoch ms) it may be served stale during an outage; never past the token's `exp`. */
  readonly staleUntil: number;
  /** When this process forgets it (epoch ms): `staleUntil`, or sooner in front of a shared store. */
  readonly until: number;
  /** When the lookup that produced it started (epoch ms): the AS said active no earlier than this. */
  readonly fetchedAt: number;
  /** From when (epoch ms) a hit refreshes it in the background (refresh-ahead); Infinity for never. */
  readonly refreshAt: number;
}

/** What this process remembers about a token that is not acceptable. */
export interface InactiveRecord {
  readonly result: InactiveIntrospectionResult;
  readonly until: number;
}

/** The one record a key has: the last answer wins, whatever it was. */
export type LocalRecord = ActiveRecord | InactiveRecord;

/**
 * The in-process tier: at most one record per key, so a newer answer replaces an older one by
 * construction. Two bounded LRUs hold them, never both for the same key:
 * - `known`: active results, and inactive answers that replaced one (a revoked token stays refused
 *   for as long as its active record would have lived in memory);
 * - `junk`: inactive answers for keys with nothing else, so a flood of garbage tokens evicts only
 *   garbage, never the entries of valid users.
 * Read synchronously on the hot path: a hit is one map lookup and a clock comparison.
 */
export class LocalTier {
  private readonly known: LRUCache<string, LocalRecord>;
  private readonly junk: LRUCache<string, InactiveRecord>;
  /** When keys and claim values were last evicted here: a shared read that began earlier must not revive them. */
  private readonly evictedAt: LRUCache<string, number>;
  private clearedAt = 0;

  constructor(maxEntries: number, maxNegativeEntries: number, markerTtlMs: number) {
    this.known = new LRUCache({ max: maxEntries });
    this.junk = new LRUCache({ max: maxNegativeEntries });
    this.evictedAt = new LRUCache({ max: Math.max(1000, maxNegativeEntries), ttl: markerTtlMs });
  }

  /**
   * Whether the key may have changed since `since` (epoch ms): it was evicted, everything was, or a
   * record was written meanwhile (callers only ask after finding none).
   */
  changedSince(key: string, since: number): boolean {
    return this.clearedAt >= since || (this.evictedAt.get(key) ?? 0) >= since || this.known.has(key) || this.junk.has(key);
  }

  /** Records an eviction by claim value (`sub:<hash>`), for `changedSince`-style checks of results. */
  markClaim(marker: string, at: number): void {
    this.evictedAt.set(marker, at);
  }

  claimEvictedSince(marker: string, since: number): boolean {
    return (this.evictedAt.get(marker) ?? 0) >= since;
  }

  /** Whether any claim eviction is remembered (a cheap guard before hashing claim values). */
  get hasMarkers(): boolean {
    return this.evictedAt.size > 0;
  }

  get(key: string, now: number): LocalRecord | undefined {
    const record = this.known.get(key) ?? this.junk.get(key);
    if (record === undefined) return undefined;
    if (now < record.until) return record;
    this.known.delete(key);
    this.junk.delete(key);
    return undefined;
  }

  /** Replaces whatever the key had with an active record (or with nothing, when `until` has passed). */
  setActive(key: string, record: ActiveRecord, now: number): void {
    this.junk.delete(key);
    if (record.until > now) this.known.set(key, record);
    else this.known.delete(key);
  }

  /** Replaces whatever the key had with an inactive record; with `until` in the past, just forgets the key. */
  setInactive(key: string, record: InactiveRecord, now: number): void {
    if (record.until <= now) {
      this.known.delete(key);
      this.junk.delete(key);
    } else if (this.known.has(key)) {
      this.known.set(key, record);
    } else {
      this.junk.set(key, record);
    }
  }

  delete(keys: readonly string[], at = Date.now()): void {
    for (const key of keys) {
      this.known.delete(key);
      this.junk.delete(key);
      this.evictedAt.set(key, at);
    }
  }

  clear(at = Date.now()): void {
    this.known.clear();
    this.junk.clear();
    this.clearedAt = at;
  }

  /** Keys of the active records whose result matches. */
  activeKeysWhere(match: (result: ActiveIntrospectionResult) => boolean): string[] {
    const keys: string[] = [];
    for (const [key, record] of this.known.entries()) {
      if (record.result.active && match(record.result)) keys.push(key);
    }
    return keys;
  }

  /** Number of records (both kinds). */
  get size(): number {
    return this.known.size + this.junk.size;
  }
}
