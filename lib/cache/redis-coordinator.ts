import { hash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Keyv } from 'keyv';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';

/** Keeps the replicas' caches consistent: eviction broadcast and the subject/client index. */
export interface CacheCoordinator {
  /** Called with keys another replica (or this one) evicted, or '*' for everything. */
  onEvicted(listener: (keys: string[] | '*') => void): void;
  publishEviction(keys: string[] | '*'): Promise<void>;
  /** Records which cache key belongs to which `sub` and `client_id`. */
  index(key: string, result: ActiveIntrospectionResult, ttlMs: number): Promise<void>;
  keysFor(claim: 'sub' | 'client_id', value: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface RedisBackendOptions {
  readonly url: string;
  readonly channel: string;
  readonly keyPrefix: string;
  readonly storeTimeoutMs: number;
}

/** Minimal view of the node-redis client used here. */
interface RedisClient {
  connect(): Promise<unknown>;
  duplicate(): RedisClient;
  on(event: 'error', listener: (error: Error) => void): unknown;
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  sMembers(key: string): Promise<string[]>;
  multi(): { sAdd(key: string, member: string): any; pExpire(key: string, ms: number): any; exec(): Promise<unknown> };
  del(keys: string[]): Promise<number>;
  close?(): Promise<void>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  isOpen: boolean;
}

/**
 * The shared cache on Redis: a Keyv store (`@keyv/redis`, an optional peer dependency) for the
 * entries, Redis pub/sub to drop local copies on every replica when a token is evicted, and Redis
 * sets indexing cache keys by `sub` and `client_id`. Connects in the background: Redis being down at
 * start-up, or later, only means asking the authorization server more often.
 */
export async function createRedisBackend(options: RedisBackendOptions): Promise<{ store: Keyv; coordinator: RedisCoordinator }> {
  let redis: typeof import('@keyv/redis');
  try {
    redis = await import('@keyv/redis');
  } catch (cause) {
    throw new Error('`cache.redis` needs the @keyv/redis package: npm install @keyv/redis', { cause });
  }
  const log = new RateLimitedLogger(new Logger('IntrospectionCache'));
  const client = redis.createClient({
    url: options.url,
    // Fail commands at once while disconnected instead of queueing them (requests must not wait for Redis).
    disableOfflineQueue: true,
    socket: { connectTimeout: Math.max(1000, options.storeTimeoutMs * 10), reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) },
  }) as unknown as RedisClient;
  client.on('error', (error) => log.warn('redis-error', `Redis (${redact(options.url)}): ${error.message}`));
  client.connect().catch((error: Error) => log.warn('redis-connect', `Redis (${redact(options.url)}) not reachable yet: ${error.message}`));
  const keyvRedis = new redis.default(client as never, { throwOnConnectError: false, throwOnErrors: true });
  const store = new redis.Keyv({ store: keyvRedis, namespace: 'ti', throwOnErrors: true });
  return { store, coordinator: new RedisCoordinator(client, options, log) };
}

export class RedisCoordinator implements CacheCoordinator {
  private readonly origin = randomUUID();
  private readonly listeners: Array<(keys: string[] | '*') => void> = [];
  private readonly subscriber: RedisClient;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisBackendOptions,
    private readonly log: RateLimitedLogger,
  ) {
    this.subscriber = client.duplicate();
    this.subscriber.on('error', (error) => log.warn('redis-sub-error', `Redis subscriber: ${error.message}`));
    // node-redis re-subscribes by itself after a reconnect.
    this.subscriber
      .connect()
      .then(() => this.subscriber.subscribe(options.channel, (message) => this.receive(message)))
      .catch((error: Error) => log.warn('redis-sub-connect', `Redis subscriber not connected yet: ${error.message}`));
  }

  onEvicted(listener: (keys: string[] | '*') => void): void {
    this.listeners.push(listener);
  }

  async publishEviction(keys: string[] | '*'): Promise<void> {
    await this.client.publish(this.options.channel, JSON.stringify({ origin: this.origin, keys }));
  }

  async index(key: string, result: ActiveIntrospectionResult, ttlMs: number): Promise<void> {
    if (!this.client.isOpen) return;
    const multi = this.client.multi();
    let any = false;
    for (const claim of ['sub', 'client_id'] as const) {
      const value = result[claim];
      if (typeof value !== 'string') continue;
      const indexKey = this.indexKey(claim, value);
      multi.sAdd(indexKey, key);
      multi.pExpire(indexKey, Math.ceil(ttlMs));
      any = true;
    }
    if (any) await multi.exec().catch(() => undefined);
  }

  async keysFor(claim: 'sub' | 'client_id', value: string): Promise<string[]> {
    const indexKey = this.indexKey(claim, value);
    const keys = await this.client.sMembers(indexKey);
    await this.client.del([indexKey]);
    return keys;
  }

  async close(): Promise<void> {
    for (const c of [this.subscriber, this.client]) {
      try {
        if (c.isOpen) await (c.close?.() ?? c.quit?.());
        else c.destroy?.();
      } catch {
        c.destroy?.();
      }
    }
  }

  private indexKey(claim: string, value: string): string {
    // Hashed like cache keys: subjects can be personal data.
    return `${this.options.keyPrefix}idx:${claim}:${hash('sha256', value, 'base64url')}`;
  }

  private receive(message: string): void {
    try {
      const { keys } = JSON.parse(message) as { keys: string[] | '*' };
      if (keys === '*' || (Array.isArray(keys) && keys.every((k) => typeof k === 'string'))) {
        for (const listener of this.listeners) listener(keys);
      }
    } catch {
      this.log.warn('redis-message', 'Ignored a malformed eviction message on the Redis channel.');
    }
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis';
  }
}
