import { LRUCache } from 'lru-cache';
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
    constructor(maxEntries, maxNegativeEntries, markerTtlMs) {
        this.clearedAt = 0;
        this.known = new LRUCache({ max: maxEntries });
        this.junk = new LRUCache({ max: maxNegativeEntries });
        this.evictedAt = new LRUCache({ max: Math.max(1000, maxNegativeEntries), ttl: markerTtlMs });
    }
    /**
     * Whether the key may have changed since `since` (epoch ms): it was evicted, everything was, or a
     * record was written meanwhile (callers only ask after finding none).
     */
    changedSince(key, since) {
        return this.clearedAt >= since || (this.evictedAt.get(key) ?? 0) >= since || this.known.has(key) || this.junk.has(key);
    }
    /** Records an eviction by claim value (`sub:<hash>`), for `changedSince`-style checks of results. */
    markClaim(marker, at) {
        this.evictedAt.set(marker, at);
    }
    claimEvictedSince(marker, since) {
        return (this.evictedAt.get(marker) ?? 0) >= since;
    }
    /** Whether any claim eviction is remembered (a cheap guard before hashing claim values). */
    get hasMarkers() {
        return this.evictedAt.size > 0;
    }
    get(key, now) {
        const record = this.known.get(key) ?? this.junk.get(key);
        if (record === undefined)
            return undefined;
        if (now < record.until)
            return record;
        this.known.delete(key);
        this.junk.delete(key);
        return undefined;
    }
    /** Replaces whatever the key had with an active record (or with nothing, when `until` has passed). */
    setActive(key, record, now) {
        this.junk.delete(key);
        if (record.until > now)
            this.known.set(key, record);
        else
            this.known.delete(key);
    }
    /** Replaces whatever the key had with an inactive record; with `until` in the past, just forgets the key. */
    setInactive(key, record, now) {
        if (record.until <= now) {
            this.known.delete(key);
            this.junk.delete(key);
        }
        else if (this.known.has(key)) {
            this.known.set(key, record);
        }
        else {
            this.junk.set(key, record);
        }
    }
    delete(keys, at = Date.now()) {
        for (const key of keys) {
            this.known.delete(key);
            this.junk.delete(key);
            this.evictedAt.set(key, at);
        }
    }
    clear(at = Date.now()) {
        this.known.clear();
        this.junk.clear();
        this.clearedAt = at;
    }
    /** Keys of the active records whose result matches. */
    activeKeysWhere(match) {
        const keys = [];
        for (const [key, record] of this.known.entries()) {
            if (record.result.active && match(record.result))
                keys.push(key);
        }
        return keys;
    }
    /** Number of records (both kinds). */
    get size() {
        return this.known.size + this.junk.size;
    }
}
