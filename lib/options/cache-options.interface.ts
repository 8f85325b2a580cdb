/** Cache of introspection results. All durations in seconds. */
export interface IntrospectionCacheOptions {
  /** Upper bound for caching an active result; the token's `exp` bounds it further. Default 60 s. */
  ttlSeconds?: number;
  /** How long an inactive result is cached (0 disables). Default 10 s. */
  negativeTtlSeconds?: number;
  /**
   * How long after its freshness ends an active result is kept for `serve-stale` (never past `exp`).
   * 0 keeps nothing. Default 300 s.
   */
  staleIfErrorSeconds?: number;
  /** Maximum active entries in the default in-memory store (least recently used go first). Default 10,000. */
  maxEntries?: number;
  /**
   * Maximum inactive entries (always kept in process memory, least recently used first), so a flood of
   * garbage tokens cannot exhaust memory or a shared store. Default 10,000.
   */
  maxNegativeEntries?: number;
  /**
   * A shared store for active results: a Keyv instance (e.g. `new Keyv({ store: new KeyvRedis(url) })`),
   * a Keyv storage adapter, or an array of them (tiers, first is checked first).
   * Default: a bounded in-memory LRU.
   */
  store?: unknown;
  /**
   * A shared cache on Redis (or Valkey) for several replicas. Needs `@keyv/redis`. Adds what a plain `store` cannot:
   * evictions reach every replica within a second (Redis pub/sub), eviction by `sub` / `client_id` / `sid` / `jti`,
   * and shared replay records. Redis being down only means more calls to the AS. One of:
   * - a URL (`'redis://127.0.0.1:6379'`, `'rediss://…'` for TLS) or `{ url, channel? }`: one node;
   * - `{ cluster: { rootNodes, … }, channel? }`: a Redis Cluster (see `RedisClusterSettings`);
   * - `{ sentinel: { name, sentinelRootNodes, … }, channel? }`: a master and its replicas behind Sentinel
   *   (see `RedisSentinelSettings`); failovers are followed.
   *
   * `channel` is the pub/sub channel of eviction broadcasts. Default `'<keyPrefix>:evictions'`.
   */
  redis?: string | RedisUrlSettings | RedisClusterConnection | RedisSentinelConnection;
  /**
   * With a shared store: seconds an entry is also kept in process memory in front of it. Evictions drop
   * it on every replica when `redis` is used. Default 5 s with `redis`, 0 with `store`.
   */
  localTtlSeconds?: number;
  /**
   * Timeout for one operation on a custom `store`, milliseconds. A store that throws or hangs past it
   * is treated as a miss, and we ask the authorization server instead. Default 100 ms.
   */
  storeTimeoutMs?: number;
  /**
   * Namespace of everything this service writes to a shared store (Redis keys start with it; `purge()`
   * clears only it). Services that share a Redis are isolated by it. Default
   * `'token-introspection:<hash of the authorization server and clientId>'`: one namespace per
   * authorization server and client id, shared by every replica and version of one API.
   */
  keyPrefix?: string;
  /**
   * With `redis`: a secret (≥ 16 characters, the same on every replica) that keys the hashes of `sub`
   * and `client_id` in the eviction index (HMAC-SHA-256). Without it they are salted SHA-256 hashes:
   * not clear text, but someone who can read Redis can confirm a guessed subject. Changing it makes
   * eviction by subject miss entries written before the change (until they expire). Default: none.
   */
  indexSecret?: string;
  /**
   * Background re-introspection of cached active results: refresh-ahead (on by default) and adaptive
   * re-checks (off by default). Never on a request's path, bounded per process, skipped while the circuit
   * breaker is not closed. See `IntrospectionRevalidationOptions`.
   */
  revalidation?: IntrospectionRevalidationOptions;
}

/**
 * Background re-introspection of cached active results. Each background lookup goes through the same
 * single-flight, timeouts, retries and circuit breaker as a request's lookup (its failures count), but no
 * request waits for it and none sees its errors. Its answer replaces the cached entry: an inactive answer
 * evicts the token everywhere, exactly as a request's inactive answer does; an eviction that happens while
 * it is in flight wins (its answer is not cached). Never extends a result past the token's `exp`.
 */
export interface IntrospectionRevalidationOptions {
  /**
   * Refresh-ahead: a cached active result that is used during the last `refreshAheadWindow` fraction of
   * `ttlSeconds` before its freshness ends is re-introspected in the background, so a busy token never waits
   * for the authorization server when its entry ages out, and a revocation is seen within
   * (1 − window) × `ttlSeconds` on a busy token. Costs at most one call per token per cached answer — the call
   * the token would have made at the end of the TTL anyway, made earlier. No refresh for an entry that ends at
   * the token's `exp` (it cannot be extended). 0 turns it off. Default 0.2 (the last 20 % of the TTL).
   */
  refreshAheadWindow?: number;
  /**
   * Adaptive re-checks: the fraction (0–1) of cache hits that also re-introspect the token in the background;
   * a revocation found that way evicts the token on every replica. Routes can ask for their own fraction with
   * `@Recheck()`. Expected time-to-revoke on a token used r times a second ≈ min(T, 1/(r·p)); AS calls ≈ r·p + 1/T
   * per token and second (docs/caching.md, "Refresh-ahead and adaptive re-checks"). Default 0.
   */
  recheckFraction?: number;
  /**
   * Most background lookups in flight at once, per process (they use the calls reserved for known tokens).
   * Offers beyond the budget wait in a short backlog, least recently verified answer first (docs/caching.md, "Fairness
   * rule"), so one client's flood of re-checks cannot keep another token's re-check out. Default 4.
   */
  maxConcurrent?: number;
  /** Most background lookups started per second, per process (bursts up to this many; see `maxConcurrent` for the backlog). Default 50. */
  maxPerSecond?: number;
}

/**
 * Options of one Redis connection, under node-redis's own names (`createClient` options): `url`, `username`,
 * `password`, `database`, `socket` (`host`, `port`, `tls`, `ca`, `cert`, `key`, `servername`, …) and any other
 * node-redis client option, passed through as given. The library sets `disableOfflineQueue` (requests never wait
 * for Redis) and `socket.reconnectStrategy` itself; `socket.connectTimeout` defaults to 10 × `storeTimeoutMs`
 * (at least 1 s).
 */
export interface RedisNodeClientOptions {
  /** `redis://[[username]:password@]host[:port][/db]`, or `rediss://…` for TLS. */
  url?: string;
  /** ACL user name (Redis 6+). */
  username?: string;
  /** Password (`requirepass`, or the ACL user's). */
  password?: string;
  /** node-redis socket options: `host`, `port`, `tls: true` (then `ca`, `cert`, `key`, `servername`, … as Node's `tls.connect`). */
  socket?: { host?: string; port?: number; tls?: boolean; [option: string]: unknown };
  /** Any other node-redis client option (`database`, `name`, `RESP`, …), passed through. */
  [option: string]: unknown;
}

/** `cache.redis` for one Redis node. */
export interface RedisUrlSettings {
  /** `redis://…` or `rediss://…` (TLS). */
  url: string;
  /** Pub/sub channel of eviction broadcasts. Default `'<keyPrefix>:evictions'`. */
  channel?: string;
}

/** `cache.redis` for a Redis Cluster. */
export interface RedisClusterConnection {
  /** The cluster's nodes and client options. */
  cluster: RedisClusterSettings;
  /** Pub/sub channel of eviction broadcasts (global pub/sub: it reaches a subscriber on any node). Default `'<keyPrefix>:evictions'`. */
  channel?: string;
}

/**
 * A Redis (or Valkey) Cluster, under node-redis's `createCluster` option names; options not listed here are passed
 * through as given. Every key of this service carries the hash tag `{<keyPrefix>}`, so all of them live in one hash
 * slot (one master and its replicas): entry, index and tombstones are written together, and no command crosses slots.
 * Evictions are broadcast with (global) PUBLISH, which the cluster forwards to every node. After a master dies, the
 * slot map is rediscovered by the library as soon as the cluster has promoted a replica.
 */
export interface RedisClusterSettings {
  /**
   * Some of the cluster's nodes (one that answers is enough; list several): `'redis://host:port'` URLs or node-redis
   * client options (`{ url }`, `{ socket: { host, port } }`). Required.
   */
  rootNodes: Array<string | RedisNodeClientOptions>;
  /**
   * Client options for every node discovered (node-redis `defaults`): `username`, `password`, `socket.tls`, …
   * Default: the credentials and TLS (`rediss://`) of the first root node given as a URL.
   */
  defaults?: RedisNodeClientOptions;
  /** Maps the addresses the cluster announces to ones this process can reach (NAT, containers); node-redis `nodeAddressMap`. */
  nodeAddressMap?: unknown;
  /** Most MOVED / ASK redirections followed per command (node-redis `maxCommandRedirections`). Default 16. */
  maxCommandRedirections?: number;
  /** Any other node-redis `createCluster` option (`useReplicas`, `minimizeConnections`, …), passed through. */
  [option: string]: unknown;
}

/** `cache.redis` for a master and its replicas watched by Sentinel. */
export interface RedisSentinelConnection {
  /** The master name, the sentinels and client options. */
  sentinel: RedisSentinelSettings;
  /** Pub/sub channel of eviction broadcasts. Default `'<keyPrefix>:evictions'`. */
  channel?: string;
}

/**
 * A Redis (or Valkey) master watched by Sentinel, under node-redis's `createSentinel` option names; options not
 * listed here are passed through as given. The client asks the sentinels for the master and follows a failover
 * (`+switch-master`) by itself.
 */
export interface RedisSentinelSettings {
  /** The master name the sentinels monitor (`sentinel monitor <name> …`), e.g. `'mymaster'`. Required. */
  name: string;
  /** Some of the sentinels (3 is enough): `{ host, port }` or `'redis://host:port'` URLs. Required. */
  sentinelRootNodes: Array<string | { host: string; port: number }>;
  /** Client options of the master and replicas (`username`, `password`, `socket.tls`, …). Default: none. */
  nodeClientOptions?: RedisNodeClientOptions;
  /** Client options of the sentinels themselves (when they need a password or TLS). Default: none. */
  sentinelClientOptions?: RedisNodeClientOptions;
  /** Milliseconds between topology scans of the sentinels (a failover is usually seen at once through their pub/sub). Default 10,000 ms. */
  scanInterval?: number;
  /** Any other node-redis `createSentinel` option (`masterPoolSize`, `nodeAddressMap`, …), passed through. */
  [option: string]: unknown;
}
