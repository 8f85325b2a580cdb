import { createHmac, hash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap } from 'cockatiel';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
/** Every `IndexedClaim`, in the order entries are indexed and tombstones checked. */
export const INDEXED_CLAIMS = ['sub', 'client_id', 'sid', 'jti'];
/**
 * The shared cache on Redis: Keyv stores (`@keyv/redis`, an optional peer dependency) for the
 * sealed entries and the eviction tombstones, Redis pub/sub to drop local copies on every replica,
 * and Redis sets indexing cache keys by hashed `sub`, `client_id`, `sid` and `jti`. Connects in the background:
 * Redis being down at start-up, or later, only means asking the authorization server more often.
 * Every command is time-bounded, so a frozen Redis can delay neither an eviction nor shutdown for long.
 */
export async function createRedisBackend(options) {
    let redis;
    try {
        redis = await import('@keyv/redis');
    }
    catch (cause) {
        throw new Error('`cache.redis` needs the @keyv/redis package: npm install @keyv/redis', { cause });
    }
    const log = new RateLimitedLogger(new Logger('IntrospectionCache'));
    // Once the coordinator closes, a dropped connection is not re-established (nor kept alive by retries).
    let closing = false;
    const client = redis.createClient({
        url: options.url,
        // Fail commands at once while disconnected instead of queueing them (requests must not wait for Redis).
        disableOfflineQueue: true,
        socket: { connectTimeout: Math.max(1000, options.storeTimeoutMs * 10), reconnectStrategy: (retries) => (closing ? false : Math.min(100 * 2 ** retries, 2000)) },
    });
    client.on('error', (error) => log.warn('redis-error', `Redis (${redact(options.url)}): ${error.message}`));
    const connecting = client
        .connect()
        .then(() => undefined, (error) => log.warn('redis-connect', `Redis (${redact(options.url)}) not reachable yet: ${error.message}`));
    // Start with the connection up when Redis answers (bounded by the connect timeout; a Redis that is down does not hold
    // start-up longer): commands fail at once while disconnected, so an eviction right after start-up would fail.
    let waited;
    await Promise.race([connecting, new Promise((resolve) => (waited = setTimeout(resolve, Math.max(1000, options.storeTimeoutMs * 10))))]);
    clearTimeout(waited);
    // One Keyv per namespace (a Keyv store adapter has a single namespace); Keyv's own prefix off, so keys are `<ns>::<key>`.
    const keyv = (namespace) => new redis.Keyv({
        store: new redis.default(client, { throwOnConnectError: false, throwOnErrors: true }),
        namespace,
        useKeyPrefix: false,
        throwOnErrors: true,
    });
    return {
        store: keyv(options.namespace),
        // Outside the entries' namespace, so purging the entries (a SCAN of `<ns>::*`) keeps the purge's own tombstone.
        tombstones: keyv(`${options.namespace}-evicted`),
        coordinator: new RedisCoordinator(client, options, log, () => (closing = true)),
    };
}
export class RedisCoordinator {
    constructor(client, options, log, 
    /** Called when closing starts (stops the clients' reconnect strategy). */
    onClosing = () => undefined) {
        this.client = client;
        this.options = options;
        this.log = log;
        this.onClosing = onClosing;
        this.origin = randomUUID();
        this.listeners = [];
        this.closed = false;
        // Coordination commands (index, eviction, broadcast) may take longer than a cache read, but never hang.
        this.bound = timeout(Math.max(1000, options.storeTimeoutMs * 5), TimeoutStrategy.Aggressive);
        this.requestPath = wrap(circuitBreaker(handleAll, { halfOpenAfter: 2000, breaker: new ConsecutiveBreaker(3) }), timeout(options.storeTimeoutMs, TimeoutStrategy.Aggressive));
        this.subscriber = client.duplicate();
        this.subscriber.on('error', (error) => log.warn('redis-sub-error', `Redis subscriber: ${error.message}`));
        // node-redis re-subscribes by itself after a reconnect.
        this.subscriber
            .connect()
            .then(() => this.subscriber.subscribe(options.channel, (message) => this.receive(message)))
            .catch((error) => log.warn('redis-sub-connect', `Redis subscriber not connected yet: ${error.message}`));
    }
    onEvicted(listener) {
        this.listeners.push(listener);
    }
    async publishEviction(eviction) {
        await this.command('publish an eviction', () => this.client.publish(this.options.channel, JSON.stringify({ origin: this.origin, keys: eviction.keys, by: eviction.by })));
    }
    async index(key, result, ttlMs) {
        if (this.closed)
            return false;
        const multi = this.client.multi();
        let any = false;
        const ms = Math.ceil(ttlMs);
        for (const claim of INDEXED_CLAIMS) {
            const value = result[claim];
            if (typeof value !== 'string' || value.length === 0)
                continue;
            const indexKey = this.indexKey(claim, value);
            multi.sAdd(indexKey, key);
            // The index lives as long as its longest-lived entry: set an expiry on a new set (NX), only ever extend it (GT).
            multi.pExpire(indexKey, ms, 'NX');
            multi.pExpire(indexKey, ms, 'GT');
            any = true;
        }
        if (!any)
            return true;
        try {
            await this.command('index', () => multi.exec());
            return true;
        }
        catch (error) {
            // Not written to Redis unindexed: eviction by sub/client_id must be able to find every shared entry.
            this.log.warn('redis-index', `${error.message}; the entry stays in process memory only (PEXPIRE NX/GT needs Redis 7.0+).`);
            return false;
        }
    }
    async keysFor(claim, value) {
        return this.command('read the index', () => this.client.sMembers(this.indexKey(claim, value)));
    }
    async unindex(claim, value, keys) {
        if (keys.length)
            await this.command('update the index', () => this.client.sRem(this.indexKey(claim, value), [...keys]));
    }
    claimHash(value) {
        // Subjects can be personal data. With a secret, an HMAC: a Redis reader cannot even confirm a guess.
        // Without, salted with the namespace: the same subject hashes differently per service, but a guess can be checked.
        const secret = this.options.indexSecret;
        if (secret)
            return createHmac('sha256', secret).update(`${this.options.namespace}\u0000${value}`).digest('base64url');
        return hash('sha256', `${this.options.namespace}\u0000${value}`, 'base64url');
    }
    /** SET NX PX: atomic across replicas, so one proof is accepted once by all of them together (RFC 9449 §11.1). */
    async firstUse(id, ttlMs, kind = 'dpop', value = '1') {
        if (this.closed)
            throw new Error('Redis could not record a one-time identifier: the cache is closed (application shutdown).');
        const reply = await this.requestPath.execute(() => this.client.set(`${this.options.namespace}:${kind}:${id}`, value, { condition: 'NX', expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) } }));
        return reply === 'OK';
    }
    async recorded(id, kind = 'dpop') {
        return this.command('read a one-time identifier', () => this.client.get(`${this.options.namespace}:${kind}:${id}`));
    }
    async record(id, value, ttlMs, kind = 'dpop') {
        const ms = Math.max(1, Math.ceil(ttlMs));
        await this.command('record a one-time identifier', () => this.client.set(`${this.options.namespace}:${kind}:${id}`, value, { expiration: { type: 'PX', value: ms } }));
    }
    async release(id, kind = 'dpop') {
        await this.command('release a one-time identifier', () => this.client.del(`${this.options.namespace}:${kind}:${id}`));
    }
    /** Closes both connections; a Redis that does not answer within the command bound is disconnected by force. */
    async close() {
        // From now on no command is sent: a closed node-redis client reconnects when asked for one (@keyv/redis does).
        this.closed = true;
        this.onClosing();
        await Promise.all([this.subscriber, this.client].map(async (c) => {
            try {
                if (!c.isOpen)
                    return c.destroy?.();
                await this.bound.execute(() => c.close?.() ?? c.quit?.());
            }
            catch {
                c.destroy?.();
            }
        }));
    }
    async command(what, fn) {
        if (this.closed)
            throw new Error(`Redis could not ${what}: the cache is closed (application shutdown).`);
        try {
            return await this.bound.execute(fn);
        }
        catch (error) {
            throw new Error(`Redis could not ${what}: ${error?.message ?? String(error)}`, { cause: error });
        }
    }
    indexKey(claim, value) {
        return `${this.options.namespace}:idx:${claim}:${this.claimHash(value)}`;
    }
    receive(message) {
        try {
            const { origin, keys, by } = JSON.parse(message);
            // This replica already applied its own evictions (and must keep the inactive answer it just cached).
            if (origin === this.origin)
                return;
            const keysOk = keys === '*' || (Array.isArray(keys) && keys.every((k) => typeof k === 'string'));
            const byOk = by === undefined || (INDEXED_CLAIMS.includes(by.claim) && typeof by.hash === 'string');
            if (keysOk && byOk) {
                for (const listener of this.listeners)
                    listener({ keys, by });
            }
        }
        catch {
            this.log.warn('redis-message', 'Ignored a malformed eviction message on the Redis channel.');
        }
    }
}
function redact(url) {
    try {
        const u = new URL(url);
        if (u.password)
            u.password = '***';
        return u.toString();
    }
    catch {
        return 'redis';
    }
}
