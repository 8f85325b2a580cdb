import { createCache, type Cache } from 'cache-manager';
import { Logger } from '@nestjs/common';
import { Keyv } from 'keyv';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { ALL, tombstone, type EvictionLedger, type Tombstone, type WriteTicket } from './eviction-ledger.js';
import type { LocalTier } from './local-tier.js';
import { INDEXED_CLAIMS, type CacheCoordinator, type Eviction } from './redis-coordinator.js';
import { openEntry, sealEntry, type SharedEntry } from './sealed-entry.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { StoreGuard } from './store-guard.js';

/** How long a purge may take to clear a large shared store (a SCAN and DELs over every entry), ms. */
const CLEAR_TIMEOUT_MS = 30_000;

/** What the shared tier shares with the cache in front of it. */
export interface SharedTierContext {
  /** `namespace\0`: what keys and seals are derived from. */
  readonly keyBase: string;
  /** How long a tombstone outlives its eviction (`tombstoneTtlMs()`). */
  readonly tombstoneTtlMs: number;
  readonly ledger: EvictionLedger;
  /** The in-process tier: a write taken back is dropped there too. */
  readonly local: LocalTier;
  /** The hash a claim value is indexed, broadcast and tombstoned under. */
  readonly claimHash: (value: string) => string;
  readonly coordinator?: CacheCoordinator;
}

/** The sealed entry of a key and the tombstones that may void it, as one read found them (`undefined`: the store failed). */
export type SharedRead = readonly [sealed: unknown, marks: Array<Tombstone | undefined> | undefined];

/**
 * The shared store (the user's Keyv store, or Redis): active entries only, sealed with a key derived from
 * the token (`sealed-entry.ts`), behind a timeout and a breaker (`StoreGuard`): a failing store reads as a
 * miss. Evictions leave tombstones (`evicted:<key>`, in the tombstone store with `cache.redis`, beside the
 * entries otherwise) that void an entry written by a lookup that began before them; revocation marks of
 * locally validated JWTs (`revoked:<mark>`) live beside them.
 */
export class SharedTier {
  private readonly shared: Cache;
  private readonly tombstones: Cache;
  private readonly guard: StoreGuard;
  /** Shared-store work nobody awaits (writes of lookups, undos): awaited, bounded, before the connections close. */
  private readonly background = new Set<Promise<unknown>>();
  /** Set when the application shuts down: no new shared-store work starts. */
  private shuttingDown = false;
  /** The store entries are written to (with `cache.redis`, the coordinator writes them in its own transaction, serialized by it). */
  private readonly entryStore: Keyv;
  private readonly log = new RateLimitedLogger(new Logger('IntrospectionCache'));
  /** Told of each entry not written to the shared store (it failed or timed out; the index was not written either). */
  private readonly dropped: Array<() => void> = [];

  constructor(
    stores: Keyv[],
    tombstoneStore: Keyv | undefined,
    storeTimeoutMs: number,
    private readonly context: SharedTierContext,
  ) {
    this.shared = createCache({ stores });
    this.entryStore = stores[0];
    this.tombstones = tombstoneStore ? createCache({ stores: [tombstoneStore] }) : this.shared;
    this.guard = new StoreGuard(storeTimeoutMs);
  }

  /** Whether the application is shutting down (`close()`): no new shared-store work starts. */
  get closing(): boolean {
    return this.shuttingDown;
  }

  /** Reads a key's sealed entry and the tombstones that may void it. */
  read(key: string): Promise<SharedRead> {
    // The entry and the tombstones in one round trip: an entry written by a lookup that began before an
    // eviction (a late write another replica has not undone yet) is not an answer.
    return Promise.all([
      this.guard.soft('get', () => this.shared.get(key)),
      this.guard.soft('get', () => this.tombstones.mget<Tombstone>([tombstone(key), tombstone(ALL)])),
    ]);
  }

  /**
   * The entry a read found, opened with the token; undefined when there is none, it cannot be opened, it is
   * past its stale bound, or a tombstone voids it (then it is deleted from the store, in the background).
   */
  open([sealed, marks]: SharedRead, key: string, token: string, now: number): SharedEntry | undefined {
    if (sealed === undefined || sealed === null || marks === undefined) return undefined;
    const entry = openEntry(sealed, token, this.context.keyBase, key);
    if (!entry || now >= entry.staleUntil) return undefined;
    if (marks.some((mark) => this.context.ledger.voids(mark, entry.startedAt, entry.origin))) {
      this.detached(this.guard.soft('delete', () => this.shared.del(key)));
      return undefined;
    }
    return entry;
  }

  /**
   * The sealed entry and its index entries (with `cache.redis`: one transaction, so both or neither), then the
   * tombstone check; a write that may have landed after an eviction is undone and the undo broadcast. A write that
   * fails is counted (`droppedWrites`) and logged: the answer stays in process memory only.
   */
  async write(key: string, token: string, entry: SharedEntry, result: ActiveIntrospectionResult, ticket: WriteTicket): Promise<void> {
    const { coordinator, keyBase } = this.context;
    const ttl = entry.staleUntil - Date.now();
    if (ttl <= 0 || this.shuttingDown || !ticket.current) return;
    const sealed = sealEntry(entry, token, keyBase, key);
    // Even a write that timed out here may land: the check below runs after it either way (one connection — on a
    // cluster, one slot — in order).
    const written = coordinator
      ? await this.entryStore
          .serializeData({ value: sealed, expires: Date.now() + ttl })
          .then((value) => typeof value === 'string' && coordinator.index(key, result, ttl, value))
      : await this.guard
          .background('write an entry', () => this.shared.set(key, sealed, ttl))
          .then(
            () => true,
            (error: Error) => (this.log.warn('store-write', `${error.message}; the entry stays in process memory only.`), false),
          );
    if (!written) {
      for (const listener of this.dropped) listener();
      return;
    }
    const marks = [tombstone(key), tombstone(ALL)];
    if (coordinator) {
      for (const claim of INDEXED_CLAIMS) {
        if (typeof result[claim] === 'string') marks.push(tombstone(`${claim}:${this.context.claimHash(result[claim])}`));
      }
    }
    // Nobody waits for it: bounded like the write (a read timeout would take back good writes under a burst).
    const found = await this.guard.background('check the tombstones', () => this.tombstones.mget<Tombstone>(marks)).catch(() => undefined);
    if (ticket.current && found !== undefined && !found.some((mark) => this.context.ledger.voids(mark, ticket.startedAt, this.context.ledger.origin))) return;
    // Evicted meanwhile (or unknown): take the write back, here, in the store, and on every replica that read it.
    this.context.local.delete([key]);
    // With `cache.redis`, the entry and its index entries go together (one transaction), as they came.
    await (coordinator ? coordinator.unindexEntry?.(key, result) : this.guard.background('take back a voided entry', () => this.shared.del(key)))?.catch(
      () => undefined,
    );
    await coordinator?.publishEviction({ keys: [key] }).catch(() => undefined);
  }

  /**
   * Tombstones first, then the entries, then the broadcast: a replica whose write lands after the
   * deletion finds the tombstone and undoes it (see `write`).
   */
  async forget(keys: readonly string[], at: number, by?: Eviction['by']): Promise<void> {
    await this.reapply(keys, at, by);
    await this.context.coordinator?.publishEviction({ keys, by });
  }

  /** An eviction's tombstones and deletes, without the broadcast (`forget`; applied again after a failover: `CacheEvictions.afterResync`). */
  async reapply(keys: readonly string[], at: number, by?: Eviction['by']): Promise<void> {
    const { ledger, tombstoneTtlMs } = this.context;
    const marks = keys.map((key) => ({ key: tombstone(key), value: ledger.mark(at), ttl: tombstoneTtlMs }));
    if (by) marks.push({ key: tombstone(`${by.claim}:${by.hash}`), value: ledger.mark(at), ttl: tombstoneTtlMs });
    if (marks.length) await this.guard.strict('write eviction tombstones', () => this.tombstones.mset(marks));
    if (keys.length) await this.guard.strict('delete', () => this.shared.mdel([...keys]));
  }

  /** Called for each entry not written to the shared store (see `write`). */
  onDropped(listener: () => void): void {
    this.dropped.push(listener);
  }

  /** Purges the store (`clear()`): the purge tombstone first, then every entry. */
  async clear(at: number): Promise<void> {
    const purgeMark = () => this.tombstones.set(tombstone(ALL), this.context.ledger.mark(at), this.context.tombstoneTtlMs);
    await this.guard.strict('write the purge tombstone', purgeMark);
    await this.guard.strict('clear', () => this.shared.clear(), CLEAR_TIMEOUT_MS);
    // A plain `cache.store` keeps tombstones beside the entries: the clear just removed it.
    if (this.tombstones === this.shared) await this.guard.strict('write the purge tombstone', purgeMark);
  }

  /**
   * Writes a JWT revocation mark beside the eviction tombstones for `ttlMs` (nothing for `ttlMs <= 0`).
   * Rejects when the store cannot write (the revocation did not happen: retry).
   */
  async writeMark(mark: string, value: number, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    await this.guard.strict('write a JWT revocation mark', () => this.tombstones.set(`revoked:${mark}`, value, ttlMs));
  }

  /** The values of revocation marks (undefined where none, or for all when the store fails: it degrades, never blocks). */
  async readMarks(marks: readonly string[]): Promise<Array<number | undefined>> {
    const values = await this.guard.soft('get', () => this.tombstones.mget<number>(marks.map((mark) => `revoked:${mark}`)));
    return marks.map((_, i) => (typeof values?.[i] === 'number' ? values[i] : undefined));
  }

  /**
   * On application shutdown: no new shared-store work starts; writes still running (a lookup's entry, an undo)
   * may finish within `withinMs`; then the store is closed to this tier (reads miss, writes are dropped,
   * evictions reject — nothing can reopen a connection).
   */
  async close(withinMs: number): Promise<void> {
    this.shuttingDown = true;
    if (this.background.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.background]), new Promise<void>((resolve) => (timer = setTimeout(resolve, withinMs)))]);
      clearTimeout(timer);
    }
    this.guard.close();
  }

  /** Shared-store work that runs on its own (fire and forget), tracked for `close()`; never rejects. */
  detached(work: Promise<unknown>): void {
    const tracked: Promise<unknown> = work.catch(() => undefined).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }
}

/** A user's `cache.store`: Keyv instances, Keyv storage adapters, or a list of them (tiers). */
export function toKeyvList(store: unknown): Keyv[] {
  const list = Array.isArray(store) ? store : [store];
  return list.map((s) => (isKeyv(s) ? s : new Keyv({ store: s as never })));
}

function isKeyv(value: unknown): value is Keyv {
  return value instanceof Keyv || (value as object)?.constructor?.name === 'Keyv';
}
