import { createHmac, hash, randomUUID } from 'node:crypto';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap, type IPolicy, type TimeoutPolicy } from 'cockatiel';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedRedisSettings } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { hint, type RedisCommands, type RedisConnection } from './redis-connection.js';
import { SubscriptionHeartbeat } from './subscription-heartbeat.js';

/**
 * Claims the replicas index cache keys by: the subject, the client, the session (`sid`, OpenID Connect
 * sessions: back-channel logout, CAEP session-revoked) and the token identifier (`jti`).
 */
export type IndexedClaim = 'sub' | 'client_id' | 'sid' | 'jti';
/** Every `IndexedClaim`, in the order entries are indexed and tombstones checked. */
export const INDEXED_CLAIMS: readonly IndexedClaim[] = ['sub', 'client_id', 'sid', 'jti'];

/** An eviction as every replica hears it. */
export interface Eviction {
  /** Cache keys, or '*' for everything. */
  readonly keys: readonly string[] | '*';
  /** Also every local entry whose claim hashes to this (entries a replica cached while the index was unreachable). */
  readonly by?: { readonly claim: IndexedClaim; readonly hash: string };
}

/** Keeps the replicas' caches consistent: eviction broadcast and the subject/client index. */
export interface CacheCoordinator {
  /** Called with evictions made by another replica (or this one). */
  onEvicted(listener: (eviction: Eviction) => void): void;
  publishEviction(eviction: Eviction): Promise<void>;
  /**
   * Called when eviction broadcasts may have been missed (the subscription reconnected or moved): the in-process
   * copies must go. Lookups in flight are not concerned (their shared write checks the tombstones).
   */
  onResync?(listener: () => void): void;
  /**
   * Called with true when the eviction subscription may be deaf (its heartbeat is not heard: see
   * `SubscriptionHeartbeat`), with false once it hears again: meanwhile the in-process tier must not serve active answers.
   */
  onSuspect?(listener: (suspect: boolean) => void): void;
  /**
   * Records which cache key belongs to which `sub`, `client_id`, `sid` and `jti`; resolves false when it could not.
   * With `entry` (the store's serialized value), also writes the entry, in the same transaction: both or neither.
   */
  index(key: string, result: ActiveIntrospectionResult, ttlMs: number, entry?: string): Promise<boolean>;
  /** Deletes an entry and its index entries in one transaction (a write taken back). */
  unindexEntry?(key: string, result: ActiveIntrospectionResult): Promise<void>;
  /** The cache keys indexed under a claim value (the index is kept: see `unindex`). */
  keysFor(claim: IndexedClaim, value: string): Promise<string[]>;
  /** Removes keys from a claim's index once their entries are gone. */
  unindex(claim: IndexedClaim, value: string, keys: readonly string[]): Promise<void>;
  /** The hash a claim value is indexed and broadcast under (never the value itself). */
  claimHash(value: string): string;
  /** Records a one-time identifier (a DPoP proof's or a pushed token's jti) for `ttlMs`; resolves false when it was already recorded. */
  firstUse?(id: string, ttlMs: number, kind?: string, value?: string): Promise<boolean>;
  /** The value a one-time identifier was recorded with (`firstUse` / `record`), null when none. */
  recorded?(id: string, kind?: string): Promise<string | null>;
  /** (Re)writes a one-time identifier's record with `value` for `ttlMs`, whether or not it exists. */
  record?(id: string, value: string, ttlMs: number, kind?: string): Promise<void>;
  /** Forgets a one-time identifier recorded by `firstUse` (its use did not complete: it may be retried). */
  release?(id: string, kind?: string): Promise<void>;
  close(): Promise<void>;
}

/** `cache.redis` as resolved, and what the backend needs beside it. */
export type RedisBackendOptions = ResolvedRedisSettings & {
  /** Every Redis key of this service starts with it (entries `<ns>::…`, tombstones `<ns>-evicted::…`, index `<ns>:idx:…`); `{<ns>}` on a cluster. */
  readonly namespace: string;
  readonly storeTimeoutMs: number;
  /** Keys the claim hashes (HMAC-SHA-256) so a Redis reader cannot confirm guessed subjects. */
  readonly indexSecret?: string;
};

export class RedisCoordinator implements CacheCoordinator {
  private readonly origin = randomUUID();
  private readonly listeners: Array<(eviction: Eviction) => void> = [];
  private readonly resyncListeners: Array<() => void> = [];
  private readonly suspectListeners: Array<(suspect: boolean) => void> = [];
  private readonly heartbeat: SubscriptionHeartbeat;
  private readonly client: RedisCommands;
  private readonly bound: TimeoutPolicy;
  /** Every Redis key of this service starts with it (`{ns}` on a cluster). */
  private readonly ns: string;
  /** On the request path (DPoP replay records): the cache read's timeout, and skipped for 2 s after 3 failures. */
  private readonly requestPath: IPolicy;
  private closed = false;
  /** A deaf subscription was logged (so its recovery is logged too; the unproven start is not). */
  private warnedDeaf = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: RedisBackendOptions,
    private readonly log: RateLimitedLogger,
    /** Called when closing starts (stops the clients' reconnect strategy). */
    private readonly onClosing: () => void = () => undefined,
  ) {
    // Coordination commands (index, eviction, broadcast) may take longer than a cache read, but never hang.
    this.bound = timeout(Math.max(1000, options.storeTimeoutMs * 5), TimeoutStrategy.Aggressive);
    this.requestPath = wrap(
      circuitBreaker(handleAll, { halfOpenAfter: 2000, breaker: new ConsecutiveBreaker(3) }),
      timeout(options.storeTimeoutMs, TimeoutStrategy.Aggressive),
    );
    this.client = connection.commands;
    this.ns = connection.keyNamespace;
    // node-redis re-subscribes by itself after a reconnect (and, on a cluster, after the slot map moved the subscription).
    this.heartbeat = new SubscriptionHeartbeat(
      (message) => this.command('publish a heartbeat', () => this.client.publish(this.options.channel, message)),
      (suspect) => {
        if (suspect)
          log.warn(
            'redis-deaf',
            'Redis eviction subscription not hearing its heartbeat: in-process answers are served only within 1 s of their lookup until it does.',
          );
        else if (this.warnedDeaf) log.warn('redis-hears', 'Redis eviction subscription hears again: the in-process cache is back.');
        this.warnedDeaf ||= suspect;
        for (const listener of this.suspectListeners) listener(suspect);
      },
      // Move the subscription: on a cluster the slot map is read again, which moves it off a node the cluster failed.
      () => connection.failed(),
    );
    // Beating from now, not from the subscription: one that never completes (Redis cut off at start-up) stays unproven.
    this.heartbeat.start();
    void connection.subscribe(options.channel, (message) => this.receive(message));
    // An eviction broadcast while the subscription moved may have been missed: this replica's in-process copies go
    // (the shared tier keeps the tombstones, so what is read again from it is checked).
    connection.onResync(() => {
      log.warn('redis-resync', 'Redis reconnected or changed master: dropped the in-process cache (an eviction broadcast may have been missed).');
      for (const listener of this.resyncListeners) listener();
    });
  }

  onEvicted(listener: (eviction: Eviction) => void): void {
    this.listeners.push(listener);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  /** `listener` is called at once with true when the subscription is not proven yet (as at start-up). */
  onSuspect(listener: (suspect: boolean) => void): void {
    this.suspectListeners.push(listener);
    if (this.heartbeat.suspect) listener(true);
  }

  async publishEviction(eviction: Eviction): Promise<void> {
    await this.command('publish an eviction', () =>
      this.client.publish(this.options.channel, JSON.stringify({ origin: this.origin, keys: eviction.keys, by: eviction.by })),
    );
  }

  async index(key: string, result: ActiveIntrospectionResult, ttlMs: number, entry?: string): Promise<boolean> {
    if (this.closed) return false;
    const multi = this.client.multi();
    let any = entry !== undefined;
    const ms = Math.ceil(ttlMs);
    for (const claim of INDEXED_CLAIMS) {
      const value = result[claim];
      if (typeof value !== 'string' || value.length === 0) continue;
      const indexKey = this.indexKey(claim, value);
      multi.sAdd(indexKey, key);
      // The index lives as long as its longest-lived entry: set an expiry on a new set (NX), only ever extend it (GT).
      multi.pExpire(indexKey, ms, 'NX');
      multi.pExpire(indexKey, ms, 'GT');
      any = true;
    }
    // The entry in the same transaction (one hash slot: `{ns}` on a cluster): both are written, or neither.
    if (entry !== undefined) multi.set(`${this.ns}::${key}`, entry, { expiration: { type: 'PX', value: Math.max(1, ms) } });
    if (!any) return true;
    try {
      await this.command(entry === undefined ? 'index' : 'write an entry and its index', () => multi.exec());
      return true;
    } catch (error) {
      // Not written to Redis unindexed: eviction by sub/client_id must be able to find every shared entry.
      this.log.warn('redis-index', `${(error as Error).message}; the entry stays in process memory only.`);
      return false;
    }
  }

  async unindexEntry(key: string, result: ActiveIntrospectionResult): Promise<void> {
    const multi = this.client.multi();
    multi.del(`${this.ns}::${key}`);
    for (const claim of INDEXED_CLAIMS) {
      const value = result[claim];
      if (typeof value === 'string' && value.length > 0) multi.sRem(this.indexKey(claim, value), key);
    }
    await this.command('take back an entry and its index entries', () => multi.exec());
  }

  async keysFor(claim: IndexedClaim, value: string): Promise<string[]> {
    return this.command('read the index', () => this.client.sMembers(this.indexKey(claim, value)));
  }

  async unindex(claim: IndexedClaim, value: string, keys: readonly string[]): Promise<void> {
    if (keys.length) await this.command('update the index', () => this.client.sRem(this.indexKey(claim, value), [...keys]));
  }

  claimHash(value: string): string {
    // Subjects can be personal data. With a secret, an HMAC: a Redis reader cannot even confirm a guess.
    // Without, salted with the namespace: the same subject hashes differently per service, but a guess can be checked.
    const secret = this.options.indexSecret;
    if (secret) return createHmac('sha256', secret).update(`${this.options.namespace}\u0000${value}`).digest('base64url');
    return hash('sha256', `${this.options.namespace}\u0000${value}`, 'base64url');
  }

  /** SET NX PX: atomic across replicas, so one proof is accepted once by all of them together (RFC 9449 §11.1). */
  async firstUse(id: string, ttlMs: number, kind = 'dpop', value = '1'): Promise<boolean> {
    if (this.closed) throw new Error('Redis could not record a one-time identifier: the cache is closed (application shutdown).');
    const reply = await this.requestPath.execute(
      () => this.client.set(`${this.ns}:${kind}:${id}`, value, { condition: 'NX', expiration: { type: 'PX', value: Math.max(1, Math.ceil(ttlMs)) } }),
      // A signal per call: cockatiel's default one is shared, and a burst would stack abort listeners on it.
      new AbortController().signal,
    );
    return reply === 'OK';
  }

  async recorded(id: string, kind = 'dpop'): Promise<string | null> {
    return this.command('read a one-time identifier', () => this.client.get(`${this.ns}:${kind}:${id}`));
  }

  async record(id: string, value: string, ttlMs: number, kind = 'dpop'): Promise<void> {
    const ms = Math.max(1, Math.ceil(ttlMs));
    await this.command('record a one-time identifier', () => this.client.set(`${this.ns}:${kind}:${id}`, value, { expiration: { type: 'PX', value: ms } }));
  }

  async release(id: string, kind = 'dpop'): Promise<void> {
    await this.command('release a one-time identifier', () => this.client.del(`${this.ns}:${kind}:${id}`));
  }

  /** Closes both connections; a Redis that does not answer within the command bound is disconnected by force. */
  async close(): Promise<void> {
    // From now on no command is sent: a closed node-redis client reconnects when asked for one (@keyv/redis does).
    this.closed = true;
    this.heartbeat.stop();
    this.onClosing();
    await this.connection.close((fn) => this.bound.execute(fn, new AbortController().signal));
  }

  private async command<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`Redis could not ${what}: the cache is closed (application shutdown).`);
    try {
      // A signal per call: cockatiel's default one is shared, and a burst would stack abort listeners on it.
      return await this.bound.execute(fn, new AbortController().signal);
    } catch (error) {
      this.connection.failed();
      const message = (error as Error)?.message ?? String(error);
      throw new Error(`Redis could not ${what}: ${message}${hint(message)}`, { cause: error });
    }
  }

  private indexKey(claim: IndexedClaim, value: string): string {
    return `${this.ns}:idx:${claim}:${this.claimHash(value)}`;
  }

  private receive(message: string): void {
    try {
      const parsed = JSON.parse(message) as Eviction & { origin?: string; hb?: unknown };
      if (this.heartbeat.heard(parsed)) return;
      const { origin, keys, by } = parsed;
      // This replica already applied its own evictions (and must keep the inactive answer it just cached).
      if (origin === this.origin) return;
      const keysOk = keys === '*' || (Array.isArray(keys) && keys.every((k) => typeof k === 'string'));
      const byOk = by === undefined || (INDEXED_CLAIMS.includes(by.claim) && typeof by.hash === 'string');
      if (keysOk && byOk) {
        for (const listener of this.listeners) listener({ keys, by });
      }
    } catch {
      this.log.warn('redis-message', 'Ignored a malformed eviction message on the Redis channel.');
    }
  }
}
