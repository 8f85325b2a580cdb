import { hash } from 'node:crypto';
import { createCache, type Cache } from 'cache-manager';
import { Keyv, type DeserializedData } from 'keyv';
import { LRUCache } from 'lru-cache';
import type { ActiveIntrospectionResult, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { CacheCoordinator } from './redis-coordinator.js';
import { StoreGuard } from './store-guard.js';

/** What is stored for an active token. Plain JSON, so any Keyv store (Redis included) can hold it. No raw token. */
export interface CachedEntry {
  readonly result: ActiveIntrospectionResult;
  /** Until when (epoch ms) the result is used without asking the authorization server. */
  readonly freshUntil: number;
  /** Until when (epoch ms) it may be served stale during an outage; never past the token's `exp`. */
  readonly staleUntil: number;
}

/** A cache lookup: an active entry (fresh or stale), a cached rejection, or nothing. */
export type CacheLookup =
  | { readonly entry: CachedEntry; readonly negative?: undefined }
  | { readonly entry?: undefined; readonly negative: IntrospectionResult }
  | undefined;

type CacheOptions = Exclude<ResolvedOptions['cache'], false>;

/**
 * Introspection results, keyed by prefix + SHA-256(endpoint or issuer, client id, token) — never the token.
 *
 * Tiers, all through cache-manager over Keyv stores:
 * - `local`: in-process LRU. The only tier by default; with a shared store, a short-lived front tier
 *   (`localTtlSeconds`) whose entries every replica drops on eviction (Redis pub/sub).
 * - `shared`: the user's Keyv store or Redis, behind a timeout and a circuit breaker (`StoreGuard`):
 *   a failing store reads as a miss, so requests go to the authorization server instead.
 * - `negative`: inactive results, always local and bounded, so garbage tokens cannot evict good
 *   entries or fill a shared store.
 */
export class IntrospectionCache {
  private readonly local?: Cache;
  private readonly shared?: Cache;
  private readonly negative: Cache;
  /** The stores behind `local` and `negative`, read synchronously on the hot path. */
  private readonly localStore?: BoundedMemoryStore;
  private readonly negativeStore: BoundedMemoryStore;
  private readonly guard?: StoreGuard;
  private readonly keyBase: string;
  private readonly localTtlMs: number;

  constructor(
    private readonly options: CacheOptions,
    namespace: string,
    sharedStores: Keyv[] | undefined,
    private readonly coordinator?: CacheCoordinator,
  ) {
    this.keyBase = `${namespace}\u0000`;
    this.localTtlMs = sharedStores ? options.localTtlMs : Number.POSITIVE_INFINITY;
    if (sharedStores) {
      this.shared = createCache({ stores: sharedStores });
      this.guard = new StoreGuard(options.storeTimeoutMs);
    }
    if (this.localTtlMs > 0) {
      this.localStore = new BoundedMemoryStore(options.maxEntries);
      this.local = createCache({ stores: [memoryKeyv(this.localStore)] });
    }
    this.negativeStore = new BoundedMemoryStore(options.maxNegativeEntries);
    this.negative = createCache({ stores: [memoryKeyv(this.negativeStore)] });
    coordinator?.onEvicted((keys) => this.dropLocal(keys));
  }

  /** The cache key of a token: prefix + base64url(SHA-256(namespace, token)). */
  key(token: string): string {
    return this.options.keyPrefix + hash('sha256', this.keyBase + token, 'base64url');
  }

  /** Whether there is a shared store behind the in-process tiers (then `getShared` may find more). */
  get hasShared(): boolean {
    return this.shared !== undefined;
  }

  /**
   * The in-process tiers, read synchronously: a cache hit costs a hash and a map lookup, no await.
   * Writes and expiry stay with cache-manager/Keyv; this reads what Keyv stored (its public
   * `StoredDataRaw` shape, `{ value, expires }`) in the stores this class owns.
   */
  getLocal(key: string): CacheLookup {
    const entry = this.localStore && unexpired<CachedEntry>(this.localStore.get(key));
    if (entry) return { entry };
    if (this.options.negativeTtlMs > 0) {
      const negative = unexpired<IntrospectionResult>(this.negativeStore.get(key));
      if (negative) return { negative };
    }
    return undefined;
  }

  /** The shared store (behind its timeout and breaker); a hit is copied into the local tier. */
  async getShared(key: string): Promise<CacheLookup> {
    if (this.shared) {
      const entry = await this.guard!.soft('get', () => this.shared!.get<CachedEntry>(key));
      if (entry !== undefined && entry !== null && typeof entry === 'object' && entry.result?.active === true) {
        const revived = revive(entry);
        this.setLocal(key, revived, Date.now());
        return { entry: revived };
      }
    }
    return undefined;
  }

  /** Caches an active result: fresh for min(ttl, exp − now), kept for serve-stale until min(+staleIfError, exp). */
  setActive(key: string, result: ActiveIntrospectionResult, now: number): void {
    const expMs = typeof result.exp === 'number' ? result.exp * 1000 : Number.POSITIVE_INFINITY;
    const freshUntil = Math.min(now + this.options.ttlMs, expMs);
    const staleUntil = Math.min(freshUntil + this.options.staleIfErrorMs, expMs);
    if (freshUntil <= now) return;
    const entry: CachedEntry = { result, freshUntil, staleUntil };
    this.setLocal(key, entry, now);
    if (this.shared) {
      const ttl = staleUntil - now;
      void this.guard!.soft('set', () => this.shared!.set(key, entry, ttl));
      void this.coordinator?.index(key, result, ttl);
    }
    if (this.options.negativeTtlMs > 0) void this.negative.del(key);
  }

  /** Caches a rejection briefly (`negativeTtlSeconds`). */
  setInactive(key: string, result: IntrospectionResult): void {
    if (this.options.negativeTtlMs > 0) void this.negative.set(key, result, this.options.negativeTtlMs);
  }

  /**
   * Forgets tokens on this replica and in the shared store, and tells the other replicas to drop
   * their local copies. Rejects if the shared store cannot delete them (revocation did not happen).
   */
  async delete(keys: string[]): Promise<void> {
    await this.dropLocal(keys);
    if (this.shared) await this.guard!.strict('delete', () => this.shared!.mdel(keys));
    await this.coordinator?.publishEviction(keys);
  }

  /** Forgets every token cached for a subject (`sub`) or a client (`client_id`) — needs `cache.redis`. */
  async deleteBy(claim: 'sub' | 'client_id', value: string): Promise<number> {
    if (!this.coordinator) {
      throw new Error(`Eviction by ${claim} needs the subject/client index: configure \`cache.redis\`.`);
    }
    const keys = await this.coordinator.keysFor(claim, value);
    const known = this.localKeysFor(claim, value);
    const all = [...new Set([...keys, ...known])];
    if (all.length) await this.delete(all);
    return all.length;
  }

  /** Forgets everything (after an authorization-server reset), here, in the shared store and on every replica. */
  async clear(): Promise<void> {
    await Promise.all([this.local?.clear(), this.negative.clear()]);
    if (this.shared) await this.guard!.strict('clear', () => this.shared!.clear());
    await this.coordinator?.publishEviction('*');
  }

  /** Closes connections of the shared store (on application shutdown). */
  async close(): Promise<void> {
    await this.coordinator?.close();
  }

  private setLocal(key: string, entry: CachedEntry, now: number): void {
    if (!this.local) return;
    const ttl = Math.min(this.localTtlMs, entry.staleUntil - now);
    if (ttl > 0) void this.local.set(key, entry, ttl);
  }

  private async dropLocal(keys: string[] | '*'): Promise<void> {
    if (keys === '*') {
      await Promise.all([this.local?.clear(), this.negative.clear()]);
      return;
    }
    await Promise.all([this.local?.mdel(keys), this.negative.mdel(keys)]);
  }

  /** Local entries of a subject or client, for replicas that cached them before the index existed. */
  private localKeysFor(claim: 'sub' | 'client_id', value: string): string[] {
    const store = this.localStore;
    if (!store) return [];
    const keys: string[] = [];
    for (const [key, raw] of store.entries()) {
      const entry = (raw as { value?: CachedEntry })?.value;
      if (entry?.result?.[claim] === value) keys.push(key);
    }
    return keys;
  }
}

/**
 * A Map-shaped Keyv store bounded by entry count (least recently used go first). Keyv keeps expiry
 * times inside the values, so the LRU needs no TTL of its own (lru-cache's `set` takes an options
 * object where Keyv passes a TTL number, hence this thin adapter).
 */
export class BoundedMemoryStore {
  private readonly lru: LRUCache<string, object>;
  constructor(max: number) {
    this.lru = new LRUCache({ max });
  }
  get(key: string) {
    return this.lru.get(key);
  }
  set(key: string, value: object) {
    this.lru.set(key, value);
    return true;
  }
  delete(key: string) {
    return this.lru.delete(key);
  }
  clear() {
    this.lru.clear();
  }
  has(key: string) {
    return this.lru.has(key);
  }
  entries() {
    return this.lru.entries();
  }
  get size() {
    return this.lru.size;
  }
}

/** What Keyv stored, if it has not expired (the same test Keyv's own `get` applies). */
function unexpired<T>(raw: unknown): T | undefined {
  const data = raw as DeserializedData<T> | undefined;
  if (data === undefined || data === null) return undefined;
  if (typeof data.expires === 'number' && Date.now() > data.expires) return undefined;
  return data.value;
}

function memoryKeyv(store: BoundedMemoryStore): Keyv {
  // Values are kept as objects, not serialized (and no key prefix): a hit costs a map lookup, not a JSON parse.
  const keyv = new Keyv({ store, namespace: '' });
  keyv.serialize = undefined;
  keyv.deserialize = undefined;
  return keyv;
}

/** A user's `cache.store`: Keyv instances, Keyv storage adapters, or a list of them (tiers). */
export function toKeyvList(store: unknown): Keyv[] {
  const list = Array.isArray(store) ? store : [store];
  return list.map((s) => (isKeyv(s) ? s : new Keyv({ store: s as never })));
}

function isKeyv(value: unknown): value is Keyv {
  return value instanceof Keyv || (value as object)?.constructor?.name === 'Keyv';
}

/** Entries from a serializing store come back as fresh, mutable objects: make them read-only like ours. */
function revive(entry: CachedEntry): CachedEntry {
  if (Object.isFrozen(entry.result)) return entry;
  const result = Object.freeze({ ...entry.result, scopes: Object.freeze([...(entry.result.scopes ?? [])]) });
  return { result, freshUntil: entry.freshUntil, staleUntil: entry.staleUntil };
}
