import { hash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
/**
 * Introspection results, keyed by prefix + SHA-256(endpoint or issuer, client id, token) — never the token.
 * Active results go to cache-manager over Keyv (a bounded in-memory LRU by default, or the user's store);
 * inactive results go to a separate, small, always-local LRU so a flood of garbage tokens cannot
 * evict good entries or fill a shared store. A store that throws or hangs reads as a miss.
 */
export class IntrospectionCache {
    constructor(options, namespace) {
        this.options = options;
        this.log = new RateLimitedLogger(new Logger('IntrospectionCache'));
        this.keyBase = `${namespace}\u0000`;
        this.customStore = options.store !== undefined;
        const stores = this.customStore ? toKeyvList(options.store) : [memoryKeyv(options.maxEntries)];
        this.active = createCache({ stores });
        this.negative = createCache({ stores: [memoryKeyv(options.maxNegativeEntries)] });
        // cache-manager reports store errors as events and answers undefined; surface them in the log.
        this.active.on('get', (e) => e.error && this.storeFailed('get', e.error));
        this.active.on('set', (e) => e.error && this.storeFailed('set', e.error));
    }
    /** The cache key of a token: prefix + base64url(SHA-256(namespace, token)). */
    key(token) {
        return this.options.keyPrefix + hash('sha256', this.keyBase + token, 'base64url');
    }
    async get(key) {
        const entry = await this.guard('get', this.active.get(key));
        if (entry !== undefined && entry !== null && typeof entry === 'object' && entry.result?.active === true) {
            return { entry: Object.isFrozen(entry.result) ? entry : revive(entry) };
        }
        if (this.options.negativeTtlMs > 0) {
            const negative = await this.negative.get(key);
            if (negative !== undefined)
                return { negative };
        }
        return undefined;
    }
    /** Caches an active result: fresh for min(ttl, exp − now), kept for serve-stale until min(+staleIfError, exp). */
    setActive(key, result, now) {
        const expMs = typeof result.exp === 'number' ? result.exp * 1000 : Number.POSITIVE_INFINITY;
        const freshUntil = Math.min(now + this.options.ttlMs, expMs);
        const staleUntil = Math.min(freshUntil + this.options.staleIfErrorMs, expMs);
        if (freshUntil <= now)
            return;
        const entry = { result, freshUntil, staleUntil };
        void this.guard('set', this.active.set(key, entry, staleUntil - now));
        if (this.options.negativeTtlMs > 0)
            void this.negative.del(key);
    }
    /** Caches a rejection briefly (`negativeTtlSeconds`). */
    setInactive(key, result) {
        if (this.options.negativeTtlMs > 0)
            void this.negative.set(key, result, this.options.negativeTtlMs);
    }
    /** Forgets a token, active or not. Rejects only if a custom store fails to delete. */
    async delete(key) {
        await Promise.all([this.active.del(key), this.negative.del(key)]);
    }
    /** Bound every operation on a user's store: a hung Redis must not hang requests. */
    guard(op, promise) {
        if (!this.customStore)
            return promise;
        let timer;
        const timeout = new Promise((resolve) => {
            timer = setTimeout(() => {
                this.storeFailed(op, new Error(`no answer within storeTimeoutMs (${this.options.storeTimeoutMs} ms)`));
                resolve(undefined);
            }, this.options.storeTimeoutMs);
        });
        return Promise.race([
            promise.then((v) => v, (error) => {
                this.storeFailed(op, error);
                return undefined;
            }),
            timeout,
        ]).finally(() => clearTimeout(timer));
    }
    storeFailed(op, error) {
        this.log.warn(`store-${op}`, `Cache store ${op} failed (${error?.message ?? String(error)}); asking the authorization server instead.`);
    }
}
function memoryKeyv(max) {
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
    constructor(max) {
        this.lru = new LRUCache({ max });
    }
    get(key) {
        return this.lru.get(key);
    }
    set(key, value) {
        this.lru.set(key, value);
        return true;
    }
    delete(key) {
        return this.lru.delete(key);
    }
    clear() {
        this.lru.clear();
    }
    has(key) {
        return this.lru.has(key);
    }
    get size() {
        return this.lru.size;
    }
}
function toKeyvList(store) {
    const list = Array.isArray(store) ? store : [store];
    return list.map((s) => (isKeyv(s) ? s : new Keyv({ store: s })));
}
function isKeyv(value) {
    return value instanceof Keyv || value?.constructor?.name === 'Keyv';
}
/** Entries from a serializing store come back as fresh, mutable objects: make them read-only like ours. */
function revive(entry) {
    const result = Object.freeze({ ...entry.result, scopes: Object.freeze([...(entry.result.scopes ?? [])]) });
    return { result, freshUntil: entry.freshUntil, staleUntil: entry.staleUntil };
}
