import { hash, randomUUID } from 'node:crypto';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import { LocalTier } from './local-tier.js';
import { INDEXED_CLAIMS } from './redis-coordinator.js';
import { openEntry, sealEntry } from './sealed-entry.js';
import { StoreGuard } from './store-guard.js';
/** How long a purge may take to clear a large shared store (a SCAN and DELs over every entry), ms. */
const CLEAR_TIMEOUT_MS = 30_000;
/** Clock difference between replicas tolerated when comparing a lookup's start with an eviction (ms). */
const CLOCK_MARGIN_MS = 1000;
/** Tombstone key of a purge (`purge()`, authorization-server reset). */
const ALL = '*';
/**
 * A lookup's right to cache its answer. Open from the moment the lookup starts until its shared write
 * is done (not just until the lookup settles): an eviction in between revokes it, so nothing learned
 * before an eviction is cached after it.
 */
export class WriteTicket {
    constructor(key) {
        this.key = key;
        this.startedAt = Date.now();
        this.current = true;
    }
}
/**
 * Introspection results, keyed by SHA-256(namespace, token) — never the token.
 *
 * - In process (`LocalTier`): one record per key, active or inactive, so the last answer wins by
 *   construction. With a shared store it is a short front tier (`localTtlSeconds`) that every replica
 *   drops on eviction (Redis pub/sub).
 * - Shared (the user's Keyv store, or Redis): active entries only, sealed with a key derived from the
 *   token (`sealed-entry.ts`), behind a timeout and a breaker (`StoreGuard`): a failing store reads as a
 *   miss. Each replica re-validates what it reads under its own policy (audience, issuer, leeway).
 * - Evictions win over lookups already in flight: the lookup's ticket stops being current locally,
 *   and a tombstone in the shared store (written before the entries are deleted) makes a replica
 *   that writes a pre-eviction answer after the eviction delete it again.
 */
export class IntrospectionCache {
    constructor(options, namespace, sharedStores, coordinator, tombstoneStore, 
    /** The longest a lookup can take (the resilience deadline): how long a tombstone must outlive an eviction. */
    lookupDeadlineMs = 5000) {
        this.options = options;
        this.coordinator = coordinator;
        this.listeners = [];
        /** Write tickets of lookups in flight or still writing, by key. */
        this.open = new Map();
        this.evictions = 0;
        /** Identifies this process's tombstones: its own clock needs no margin. */
        this.origin = randomUUID();
        /**
         * The keys of tokens found active here, by raw token: a hit costs a map lookup instead of a SHA-256.
         * Only a memo of `key()` (records stay keyed by the digest, so evictions, expiry and newer answers work
         * exactly as without it). In process memory only, never in a shared store or a log: the token is in the
         * request anyway. Filled on active hits only (junk never gets in), bounded by `maxEntries` (oldest out).
         */
        this.keys = new Map();
        /** Shared-store work nobody awaits (writes of lookups, undos): awaited, bounded, before the connections close. */
        this.background = new Set();
        /** Set when the application shuts down: no new shared-store work starts. */
        this.closing = false;
        this.keyBase = `${namespace}\u0000`;
        this.localTtlMs = sharedStores ? options.localTtlMs : Number.POSITIVE_INFINITY;
        // Must outlive the slowest write of a lookup that began before the eviction: its deadline, the index
        // write (bounded at ~1 s), the entry write, and clock margins.
        this.tombstoneTtlMs = lookupDeadlineMs + Math.max(1000, 5 * options.storeTimeoutMs) + 2 * options.storeTimeoutMs + 5 * CLOCK_MARGIN_MS;
        this.local = new LocalTier(options.maxEntries, options.maxNegativeEntries, this.tombstoneTtlMs);
        if (sharedStores) {
            this.shared = createCache({ stores: sharedStores });
            this.tombstones = tombstoneStore ? createCache({ stores: [tombstoneStore] }) : this.shared;
            this.guard = new StoreGuard(options.storeTimeoutMs);
        }
        coordinator?.onEvicted((eviction) => this.onRemoteEviction(eviction));
    }
    /** The cache key of a token: base64url(SHA-256(namespace, token)). */
    key(token) {
        return this.keys.get(token) ?? hash('sha256', this.keyBase + token, 'base64url');
    }
    /**
     * The in-process record of a token, read synchronously: the hot path of a cache hit. The token's key
     * is remembered once it was found active, so later hits skip the hash.
     */
    readLocalToken(token) {
        const known = this.keys.get(token);
        if (known !== undefined) {
            const record = this.local.get(known, Date.now());
            // Evicted, expired or answered inactive since: forget the memo with the record.
            if (!record?.result.active)
                this.keys.delete(token);
            return record;
        }
        const key = hash('sha256', this.keyBase + token, 'base64url');
        const record = this.local.get(key, Date.now());
        if (record?.result.active) {
            if (this.keys.size >= this.options.maxEntries)
                this.keys.delete(this.keys.keys().next().value);
            this.keys.set(token, key);
        }
        return record;
    }
    /** Drops a token from the raw-token memo (`evict(token)`: a revoked token is not kept in memory until presented again). */
    forgetToken(token) {
        this.keys.delete(token);
    }
    /**
     * Drops the memo entries of these keys (evictions by subject or client: the tokens are not known, so a scan
     * of the memo, bounded by `maxEntries`; such evictions are rare). Evictions by key alone (another replica's
     * `evict(token)`, the AS's inactive answer) leave the memo entry until the token is presented again — it is
     * then dropped with the record it no longer finds.
     */
    forgetKeys(keys) {
        if (keys.length === 0 || this.keys.size === 0)
            return;
        const dropped = new Set(keys);
        for (const [token, key] of this.keys)
            if (dropped.has(key))
                this.keys.delete(token);
    }
    /**
     * Records a one-time identifier in the shared store (`cache.redis` only): resolves true the first time,
     * false for a replay, undefined when there is no shared store to ask. Rejects when Redis cannot answer.
     */
    async firstUseShared(id, ttlMs, kind, value) {
        return this.coordinator?.firstUse ? this.coordinator.firstUse(id, ttlMs, kind, value) : undefined;
    }
    /** The value a one-time identifier was recorded with in the shared store; null when none or no shared store. Rejects when Redis cannot answer. */
    async recordedShared(id, kind) {
        return this.coordinator?.recorded ? this.coordinator.recorded(id, kind) : null;
    }
    /** Rewrites a one-time identifier's record in the shared store (`cache.redis` only). Rejects when Redis cannot answer. */
    async recordShared(id, value, ttlMs, kind) {
        await this.coordinator?.record?.(id, value, ttlMs, kind);
    }
    /** Forgets an identifier `firstUseShared` recorded (what it guarded failed and may be retried). Rejects when Redis cannot answer. */
    async releaseShared(id, kind) {
        await this.coordinator?.release?.(id, kind);
    }
    /** Whether there is a shared store behind the in-process tier (then `readShared` may find more). */
    get hasShared() {
        return this.shared !== undefined;
    }
    /** Counts evictions seen by this process: a caller holding a record can tell whether one happened since. */
    get epoch() {
        return this.evictions;
    }
    /** Called with the keys of every eviction (local or from another replica; '*' for all). */
    onEvicted(listener) {
        this.listeners.push(listener);
    }
    /** Opens a lookup's write ticket (see `WriteTicket`); `storeActive` / `storeInactive` / `abandon` close it. */
    openTicket(key) {
        const ticket = new WriteTicket(key);
        let set = this.open.get(key);
        if (!set)
            this.open.set(key, (set = new Set()));
        set.add(ticket);
        return ticket;
    }
    /** Closes the ticket of a lookup that failed (nothing to cache). */
    abandon(ticket) {
        const set = this.open.get(ticket.key);
        if (set?.delete(ticket) && set.size === 0)
            this.open.delete(ticket.key);
    }
    /** The in-process record of a key, read synchronously: a cache hit costs a hash and a map lookup. */
    readLocal(key) {
        return this.local.get(key, Date.now());
    }
    /**
     * The shared store (behind its timeout and breaker). An entry is opened with the token, then
     * validated under this API's policy; the outcome is remembered in process.
     */
    async readShared(key, token, check) {
        if (!this.shared)
            return undefined;
        const started = Date.now();
        // The entry and the tombstones in one round trip: an entry written by a lookup that began before an
        // eviction (a late write another replica has not undone yet) is not an answer.
        const [sealed, marks] = await Promise.all([
            this.guard.soft('get', () => this.shared.get(key)),
            this.guard.soft('get', () => this.tombstones.mget([tombstone(key), tombstone(ALL)])),
        ]);
        const now = Date.now();
        // Whatever this process learned while the read was on the wire (an eviction, a newer answer) wins over it.
        if (this.local.changedSince(key, started))
            return this.local.get(key, now);
        if (sealed === undefined || sealed === null || marks === undefined)
            return undefined;
        const entry = openEntry(sealed, token, this.keyBase, key);
        if (!entry || now >= entry.staleUntil)
            return undefined;
        if (marks.some((mark) => this.voids(mark, entry.startedAt, entry.origin))) {
            this.detached(this.guard.soft('delete', () => this.shared.del(key)));
            return undefined;
        }
        const result = check(entry.response, now);
        if (result.active && this.claimEvictedSince(result, entry.startedAt - CLOCK_MARGIN_MS))
            return undefined;
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
    storeActive(key, token, response, result, now, ticket) {
        if (!ticket.current || this.claimEvictedSince(result, ticket.startedAt))
            return this.abandon(ticket);
        const expMs = typeof result.exp === 'number' ? result.exp * 1000 : Number.POSITIVE_INFINITY;
        const freshUntil = Math.min(now + this.options.ttlMs, expMs);
        const staleUntil = Math.min(freshUntil + this.options.staleIfErrorMs, expMs);
        if (freshUntil <= now)
            return this.abandon(ticket);
        this.local.setActive(key, this.activeRecord(result, freshUntil, staleUntil, now, ticket.startedAt), now);
        if (!this.shared || this.closing)
            return this.abandon(ticket);
        const entry = { response, freshUntil, staleUntil, startedAt: ticket.startedAt, origin: this.origin };
        this.detached(this.writeShared(key, token, entry, result, ticket).finally(() => this.abandon(ticket)));
    }
    /**
     * Caches a rejection (`negativeTtlSeconds`), replacing any active record of the key. When the
     * authorization server itself said `active: false`, the key is also dropped from the shared store
     * and from every replica's memory: what the AS said last counts everywhere.
     */
    storeInactive(key, result, now, ticket, fromAuthorizationServer) {
        this.abandon(ticket);
        if (fromAuthorizationServer) {
            // The AS's newest word: it ends every earlier answer, even from lookups that began before this one.
            this.detach([key]);
            this.local.delete([key], now);
            if (this.shared && !this.closing)
                this.detached(this.forgetShared([key], now));
        }
        else if (!ticket.current) {
            return;
        }
        this.local.setInactive(key, { result, until: now + this.options.negativeTtlMs }, now);
    }
    /**
     * Forgets tokens here, in the shared store and on every replica; lookups in flight for them are
     * detached and will not be cached. Rejects if the shared store or the broadcast fails (the
     * revocation did not fully happen: retry).
     */
    async delete(keys, by) {
        const at = Date.now();
        this.dropLocal(keys, at);
        if (by)
            this.detach('*');
        if (this.shared)
            await this.forgetShared(keys, at, by);
        else
            await this.coordinator?.publishEviction({ keys, by });
    }
    /**
     * Tombstones first, then the entries, then the broadcast: a replica whose write lands after the
     * deletion finds the tombstone and undoes it (see `writeShared`).
     */
    async forgetShared(keys, at, by) {
        const marks = keys.map((key) => ({ key: tombstone(key), value: this.mark(at), ttl: this.tombstoneTtlMs }));
        if (by)
            marks.push({ key: tombstone(`${by.claim}:${by.hash}`), value: this.mark(at), ttl: this.tombstoneTtlMs });
        if (marks.length)
            await this.guard.strict('write eviction tombstones', () => this.tombstones.mset(marks));
        if (keys.length)
            await this.guard.strict('delete', () => this.shared.mdel([...keys]));
        await this.coordinator?.publishEviction({ keys, by });
    }
    /**
     * Forgets every cached token of a subject (`sub`), a client (`client_id`), a session (`sid`) or with a
     * token identifier (`jti`). With `cache.redis`,
     * on every replica through the index (kept until the entries are gone, so a failure can be retried);
     * without a shared store, in this process. Resolves to the number of keys found.
     */
    async deleteBy(claim, value) {
        if (this.shared && !this.coordinator) {
            throw new Error(`Eviction by ${claim} needs an index of the shared store: use \`cache.redis\` instead of \`cache.store\`.`);
        }
        const at = Date.now();
        const hash = this.claimHash(value);
        // Lookups in flight may be for tokens of this claim value that no index knows yet: detach them all.
        this.local.markClaim(`${claim}:${hash}`, at);
        this.detach('*');
        const local = this.local.activeKeysWhere((result) => result[claim] === value);
        if (!this.coordinator) {
            this.dropLocal(local, at);
            this.forgetKeys(local);
            return local.length;
        }
        const indexed = await this.coordinator.keysFor(claim, value);
        const all = [...new Set([...indexed, ...local])];
        this.dropLocal(all, at);
        this.forgetKeys(all);
        await this.forgetShared(all, at, { claim, hash });
        await this.coordinator.unindex(claim, value, indexed);
        return all.length;
    }
    /**
     * Forgets the results carrying this `jti`: with `cache.redis` through the index (shared entries of opaque
     * tokens whose introspection answer has a `jti`) and the broadcast, like `deleteBy`; with a plain
     * `cache.store`, the in-memory results here only (JWT verifications are kept in memory only). Resolves to the keys dropped.
     */
    async forgetByJti(jti) {
        if (this.coordinator || !this.shared)
            return this.deleteBy('jti', jti);
        const keys = this.local.activeKeysWhere((result) => result.jti === jti);
        this.dropLocal(keys);
        this.forgetKeys(keys);
        return keys.length;
    }
    /** Forgets everything (e.g. after an authorization-server reset), here, in the shared store and on every replica. */
    async clear() {
        const at = Date.now();
        this.dropLocal('*', at);
        if (this.shared) {
            const purgeMark = () => this.tombstones.set(tombstone(ALL), this.mark(at), this.tombstoneTtlMs);
            await this.guard.strict('write the purge tombstone', purgeMark);
            await this.guard.strict('clear', () => this.shared.clear(), CLEAR_TIMEOUT_MS);
            // A plain `cache.store` keeps tombstones beside the entries: the clear just removed it.
            if (this.tombstones === this.shared)
                await this.guard.strict('write the purge tombstone', purgeMark);
        }
        await this.coordinator?.publishEviction({ keys: '*' });
    }
    /**
     * On application shutdown: no new shared-store work starts; writes still running (a lookup's entry, an undo)
     * may finish within `withinMs`; then the store is closed to this cache (reads miss, writes are dropped,
     * evictions reject — nothing can reopen a connection) and the Redis connections are closed, bounded in time.
     */
    async close(withinMs = Math.max(1000, 5 * this.options.storeTimeoutMs)) {
        this.closing = true;
        if (this.background.size > 0) {
            let timer;
            await Promise.race([
                Promise.allSettled([...this.background]),
                new Promise((resolve) => (timer = setTimeout(resolve, withinMs))),
            ]);
            clearTimeout(timer);
        }
        this.guard?.close();
        await this.coordinator?.close();
    }
    /** Shared-store work that runs on its own (fire and forget), tracked for `close()`; never rejects. */
    detached(work) {
        const tracked = work.catch(() => undefined).finally(() => this.background.delete(tracked));
        this.background.add(tracked);
    }
    /**
     * JWT access tokens validated locally (lib/jwt): remembered in process only (nothing to share: every
     * replica can verify a signature), unless an eviction happened since the verification started (`epoch`).
     * A rejection is remembered like an inactive answer (`negativeTtlSeconds`), so a replayed forgery costs no
     * second signature check.
     */
    rememberLocal(key, result, freshUntil, epoch) {
        const now = Date.now();
        if (epoch !== this.evictions)
            return;
        if (!result.active)
            return this.local.setInactive(key, { result, until: now + this.options.negativeTtlMs }, now);
        if (freshUntil <= now)
            return;
        const until = Math.min(freshUntil, now + this.localTtlMs);
        // Not introspected: nothing to refresh ahead.
        this.local.setActive(key, { result, freshUntil, staleUntil: freshUntil, until, fetchedAt: now, refreshAt: Number.POSITIVE_INFINITY }, now);
    }
    /**
     * Revocation marks of locally validated JWTs (lib/jwt names them and gives them a number): kept in the
     * shared store for `ttlMs`, beside the eviction tombstones, so every replica — including one started
     * later — reads them before accepting a JWT it has not verified yet. Rejects when the store cannot write
     * (the revocation did not happen: retry). No shared store: nothing to do.
     */
    async writeMark(mark, value, ttlMs) {
        if (!this.shared || ttlMs <= 0)
            return;
        await this.guard.strict('write a JWT revocation mark', () => this.tombstones.set(`revoked:${mark}`, value, ttlMs));
    }
    /** The values of revocation marks (undefined where none, or for all when the store fails: it degrades, never blocks). */
    async readMarks(marks) {
        if (!this.shared)
            return marks.map(() => undefined);
        const values = await this.guard.soft('get', () => this.tombstones.mget(marks.map((mark) => `revoked:${mark}`)));
        return marks.map((_, i) => (typeof values?.[i] === 'number' ? values[i] : undefined));
    }
    /**
     * A record of an AS answer obtained by a lookup that started at `fetchedAt`. Its refresh-ahead point is
     * computed once here, so a hit compares one number; an entry that ends at the token's `exp` is never
     * refreshed (a new answer could not extend it).
     */
    activeRecord(result, freshUntil, staleUntil, now, fetchedAt) {
        const window = this.options.revalidation.refreshAheadWindow;
        const endsAtExp = typeof result.exp === 'number' && result.exp * 1000 <= freshUntil;
        const refreshAt = window > 0 && !endsAtExp ? freshUntil - window * this.options.ttlMs : Number.POSITIVE_INFINITY;
        return { result, freshUntil, staleUntil, until: Math.min(staleUntil, now + this.localTtlMs), fetchedAt, refreshAt };
    }
    /**
     * Index first (an entry the index cannot reach is not written), then the sealed entry, then the
     * tombstone check; a write that may have landed after an eviction is undone and the undo broadcast.
     */
    async writeShared(key, token, entry, result, ticket) {
        const ttl = entry.staleUntil - Date.now();
        if (ttl <= 0 || this.closing)
            return;
        if (this.coordinator && !(await this.coordinator.index(key, result, ttl)))
            return;
        if (!ticket.current)
            return;
        const sealed = sealEntry(entry, token, this.keyBase, key);
        // Even a write that timed out here may land: the check below runs after it either way (one connection, in order).
        await this.guard.soft('set', () => this.shared.set(key, sealed, ttl));
        const marks = [tombstone(key), tombstone(ALL)];
        if (this.coordinator) {
            for (const claim of INDEXED_CLAIMS) {
                if (typeof result[claim] === 'string')
                    marks.push(tombstone(`${claim}:${this.claimHash(result[claim])}`));
            }
        }
        const found = await this.guard.soft('get', () => this.tombstones.mget(marks));
        if (ticket.current && found !== undefined && !found.some((mark) => this.voids(mark, ticket.startedAt, this.origin)))
            return;
        // Evicted meanwhile (or unknown): take the write back, here, in the store, and on every replica that read it.
        this.local.delete([key]);
        await this.guard.soft('delete', () => this.shared.del(key));
        await this.coordinator?.publishEviction({ keys: [key] }).catch(() => undefined);
    }
    claimHash(value) {
        return this.coordinator ? this.coordinator.claimHash(value) : hash('sha256', this.keyBase + value, 'base64url');
    }
    /** Whether the result's subject, client, session or jti was evicted since `since` (only hashes when an eviction by claim is remembered). */
    claimEvictedSince(result, since) {
        if (!this.local.hasMarkers)
            return false;
        for (const claim of INDEXED_CLAIMS) {
            const value = result[claim];
            if (typeof value === 'string' && this.local.claimEvictedSince(`${claim}:${this.claimHash(value)}`, since))
                return true;
        }
        return false;
    }
    /** Revokes the write tickets of lookups in flight for these keys (all for '*') and tells listeners (single-flight). */
    detach(keys) {
        const revoke = (set) => set?.forEach((ticket) => (ticket.current = false));
        if (keys === '*') {
            this.open.forEach(revoke);
            this.open.clear();
        }
        else {
            for (const key of keys) {
                revoke(this.open.get(key));
                this.open.delete(key);
            }
        }
        for (const listener of this.listeners)
            listener(keys);
    }
    /** Whether a tombstone is at least as new as a lookup that began at `startedAt` in process `origin`. */
    voids(mark, startedAt, origin) {
        return typeof mark?.at === 'number' && mark.at + (mark.origin === origin ? 0 : CLOCK_MARGIN_MS) >= startedAt;
    }
    mark(at) {
        return { at, origin: this.origin };
    }
    dropLocal(keys, at = Date.now()) {
        this.evictions++;
        if (keys === '*') {
            this.local.clear(at);
            this.keys.clear();
        }
        else
            this.local.delete(keys, at);
        this.detach(keys);
    }
    onRemoteEviction(eviction) {
        if (eviction.keys === '*')
            return this.dropLocal('*');
        const keys = [...eviction.keys];
        const by = eviction.by;
        if (by) {
            this.local.markClaim(`${by.claim}:${by.hash}`, Date.now());
            this.detach('*');
            keys.push(...this.local.activeKeysWhere((result) => typeof result[by.claim] === 'string' && this.claimHash(result[by.claim]) === by.hash));
            this.forgetKeys(keys);
        }
        this.dropLocal(keys);
    }
}
function tombstone(key) {
    return `evicted:${key}`;
}
/** A user's `cache.store`: Keyv instances, Keyv storage adapters, or a list of them (tiers). */
export function toKeyvList(store) {
    const list = Array.isArray(store) ? store : [store];
    return list.map((s) => (isKeyv(s) ? s : new Keyv({ store: s })));
}
function isKeyv(value) {
    return value instanceof Keyv || value?.constructor?.name === 'Keyv';
}
