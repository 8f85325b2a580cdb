import { hash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { createCache, type Cache } from 'cache-manager';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import type { ActiveIntrospectionResult, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';

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
 * Active results go to cache-manager over Keyv (a bounded in-memory LRU by default, or the user's store);
 * inactive results go to a separate, small, always-local LRU so a flood of garbage tokens cannot
 * evict good entries or fill a shared store. A store that throws or hangs reads as a miss.
 */
export class IntrospectionCache {
  private readonly active: Cache;
  private readonly negative: Cache;
  private readonly customStore: boolean;
  private readonly keyBase: string;
  private readonly log = new RateLimitedLogger(new Logger('IntrospectionCache'));

  constructor(
    private readonly options: CacheOptions,
    namespace: string,
  ) {
    this.keyBase = `${namespace}\u0000`;
    this.customStore = options.store !== undefined;
    const stores = this.customStore ? toKeyvList(options.store) : [memoryKeyv(options.maxEntries)];
    this.active = createCache({ stores });
    this.negative = createCache({ stores: [memoryKeyv(options.maxNegativeEntries)] });
    // cache-manager reports store errors as events and answers undefined; surface them in the log.
    this.active.on('get', (e: { error?: unknown }) => e.error && this.storeFailed('get', e.error));
    this.active.on('set', (e: { error?: unknown }) => e.error && this.storeFailed('set', e.error));
  }

  /** The cache key of a token: prefix + base64url(SHA-256(namespace, token)). */
  key(token: string): string {
    return this.options.keyPrefix + hash('sha256', this.keyBase + token, 'base64url');
  }

  async get(key: string): Promise<CacheLookup> {
    const entry = await this.guard('get', this.active.get<CachedEntry>(key));
    if (entry !== undefined && entry !== null && typeof entry === 'object' && entry.result?.active === true) {
      return { entry: Object.isFrozen(entry.result) ? entry : revive(entry) };
    }
    if (this.options.negativeTtlMs > 0) {
      const negative = await this.negative.get<IntrospectionResult>(key);
      if (negative !== undefined) return { negative };
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
    void this.guard('set', this.active.set(key, entry, staleUntil - now));
    if (this.options.negativeTtlMs > 0) void this.negative.del(key);
  }

  /** Caches a rejection briefly (`negativeTtlSeconds`). */
  setInactive(key: string, result: IntrospectionResult): void {
    if (this.options.negativeTtlMs > 0) void this.negative.set(key, result, this.options.negativeTtlMs);
  }

  /** Forgets a token, active or not. Rejects only if a custom store fails to delete. */
  async delete(key: string): Promise<void> {
    await Promise.all([this.active.del(key), this.negative.del(key)]);
  }

  /** Bound every operation on a user's store: a hung Redis must not hang requests. */
  private guard<T>(op: string, promise: Promise<T>): Promise<T | undefined> {
    if (!this.customStore) return promise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        this.storeFailed(op, new Error(`no answer within storeTimeoutMs (${this.options.storeTimeoutMs} ms)`));
        resolve(undefined);
      }, this.options.storeTimeoutMs);
    });
    return Promise.race([
      promise.then(
        (v) => v,
        (error: unknown) => {
          this.storeFailed(op, error);
          return undefined;
        },
      ),
      timeout,
    ]).finally(() => clearTimeout(timer));
  }

  private storeFailed(op: string, error: unknown): void {
    this.log.warn(
      `store-${op}`,
      `Cache store ${op} failed (${(error as Error)?.message ?? String(error)}); asking the authorization server instead.`,
    );
  }
}

function memoryKeyv(max: number): Keyv {
  // Values are kept as objects, not serialized: a hit costs a map lookup, not a JSON parse.
  const keyv = new Keyv({ store: new BoundedMemoryStore(max), namespace: '' });
  keyv.serialize = undefined;
  keyv.deserialize = undefined;
  return keyv;
}

/**
 * A Map-shaped Keyv store bounded by entry count (least recently used go first). Keyv keeps expiry
 * times inside the values, so the LRU needs no TTL of its own (lru-cache's `set` takes an options
 * object where Keyv passes a TTL number, hence this thin adapter).
 */
class BoundedMemoryStore {
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
  get size() {
    return this.lru.size;
  }
}

function toKeyvList(store: unknown): Keyv[] {
  const list = Array.isArray(store) ? store : [store];
  return list.map((s) => (isKeyv(s) ? s : new Keyv({ store: s as never })));
}

function isKeyv(value: unknown): value is Keyv {
  return value instanceof Keyv || (value as object)?.constructor?.name === 'Keyv';
}

/** Entries from a serializing store come back as fresh, mutable objects: make them read-only like ours. */
function revive(entry: CachedEntry): CachedEntry {
  const result = Object.freeze({ ...entry.result, scopes: Object.freeze([...(entry.result.scopes ?? [])]) });
  return { result, freshUntil: entry.freshUntil, staleUntil: entry.staleUntil };
}
