import type { ResolvedOptions } from '../options/resolved-options.js';
import { IntrospectionCache, toKeyvList } from './introspection.cache.js';
import { createRedisBackend } from './redis-backend.js';

/**
 * The cache of introspection results from resolved options, or null when caching is off: the module's and each
 * tenant's (its own namespace, so its own Redis keys and eviction channel).
 */
export async function createIntrospectionCache(options: ResolvedOptions): Promise<IntrospectionCache | null> {
  const cache = options.cache;
  if (!cache) return null;
  if (cache.redis) {
    const { store, tombstones, coordinator } = await createRedisBackend({
      ...cache.redis,
      namespace: cache.namespace,
      storeTimeoutMs: cache.storeTimeoutMs,
      indexSecret: cache.indexSecret,
    });
    return new IntrospectionCache(cache, options.cacheNamespace, [store], coordinator, tombstones, options.resilience.deadlineMs);
  }
  const stores = cache.store === undefined ? undefined : toKeyvList(cache.store);
  return new IntrospectionCache(cache, options.cacheNamespace, stores, undefined, undefined, options.resilience.deadlineMs);
}
