import { Logger } from '@nestjs/common';
import type { Keyv } from 'keyv';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { openRedisConnection } from './redis-connection.js';
import { RedisCoordinator, type RedisBackendOptions } from './redis-coordinator.js';

/**
 * The shared cache on Redis (one node, a cluster or a Sentinel set: `redis-connection.ts`): Keyv stores
 * (`@keyv/redis`, an optional peer dependency) for the sealed entries and the eviction tombstones, Redis pub/sub to
 * drop local copies on every replica, and Redis sets indexing cache keys by hashed `sub`, `client_id`, `sid` and `jti`.
 * Connects in the background: Redis being down at start-up, or later, only means asking the authorization server
 * more often. Every command is time-bounded, so a frozen Redis can delay neither an eviction nor shutdown for long.
 */
export async function createRedisBackend(options: RedisBackendOptions): Promise<{ store: Keyv; tombstones: Keyv; coordinator: RedisCoordinator }> {
  let redis: typeof import('@keyv/redis');
  try {
    redis = await import('@keyv/redis');
  } catch (cause) {
    throw new Error('`cache.redis` needs the @keyv/redis package: npm install @keyv/redis', { cause });
  }
  const log = new RateLimitedLogger(new Logger('IntrospectionCache'));
  // Once the coordinator closes, a dropped connection is not re-established (nor kept alive by retries).
  let closing = false;
  const connection = openRedisConnection(redis, options, options, log, () => closing);
  // Start with the connection up when Redis answers (bounded by the connect timeout; a Redis that is down does not hold
  // start-up longer): commands fail at once while disconnected, so an eviction right after start-up would fail.
  let waited: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([connection.connecting, new Promise<void>((resolve) => (waited = setTimeout(resolve, Math.max(1000, options.storeTimeoutMs * 10))))]);
  clearTimeout(waited);
  // One Keyv per namespace (a Keyv store adapter has a single namespace); Keyv's own prefix off, so keys are `<ns>::<key>`.
  const keyv = (namespace: string) =>
    new redis.Keyv({
      store: new redis.default(connection.storeClient as never, { throwOnConnectError: false, throwOnErrors: true }),
      namespace,
      useKeyPrefix: false,
      throwOnErrors: true,
    });
  const ns = connection.keyNamespace;
  return {
    store: keyv(ns),
    // Outside the entries' namespace, so purging the entries (a SCAN of `<ns>::*`) keeps the purge's own tombstone;
    // on a cluster `{ns}-evicted` hashes like `{ns}`: entries, tombstones and index share one slot.
    tombstones: keyv(`${ns}-evicted`),
    coordinator: new RedisCoordinator(connection, options, log, () => (closing = true)),
  };
}
