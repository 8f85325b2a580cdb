import { hash } from 'node:crypto';
import type { IntrospectionCacheOptions } from './cache-options.interface.js';
import type { CoreIntrospectionOptions } from './core-options.interface.js';
import type { NumberReader } from './option-readers.js';
import type { ResolvedOptions } from './resolved-options.js';
import { resolveRedis } from './resolve-redis-options.js';

/**
 * The cache of introspection results (`cache`), validated at start-up with its defaults, and checked against the
 * outage policy that serves from it. `maxConcurrentCalls` bounds its background lookups (they share the bulkhead).
 */
export function resolveCacheOptions(
  o: Partial<CoreIntrospectionOptions>,
  outagePolicy: ResolvedOptions['outagePolicy'],
  maxConcurrentCalls: number,
  problems: string[],
  warnings: string[],
  num: NumberReader,
): Pick<ResolvedOptions, 'cacheNamespace' | 'cache'> {
  const cacheNamespace = `${o.introspectionEndpoint ?? o.issuer}\u0000${o.clientId}`;
  let cache: ResolvedOptions['cache'] = false;
  if (o.cache !== false) {
    const c = o.cache ?? {};
    // Isolates this service in a shared store: by default one namespace per authorization server + client id.
    const keyPrefix = c.keyPrefix ?? defaultKeyPrefix(cacheNamespace);
    if (typeof keyPrefix !== 'string' || !/^[\x21-\x7E]{1,128}$/.test(keyPrefix) || /[*?[\]]/.test(keyPrefix)) {
      problems.push("`cache.keyPrefix` must be 1–128 printable ASCII characters without spaces or glob characters (* ? [ ]), e.g. 'orders-api'.");
    }
    if (c.indexSecret !== undefined && (typeof c.indexSecret !== 'string' || c.indexSecret.length < 16)) {
      problems.push('`cache.indexSecret` must be a string of at least 16 characters, the same on every replica (generate a random one).');
    }
    if (c.store !== undefined && (c.store === null || typeof c.store !== 'object')) {
      problems.push('`cache.store` must be a Keyv instance, a Keyv storage adapter, or an array of them.');
    }
    const redis = c.redis === undefined ? undefined : resolveRedis(c.redis, namespaceOf(keyPrefix), problems);
    if (c.redis !== undefined && c.store !== undefined) problems.push('Give either `cache.redis` or `cache.store`, not both.');
    cache = {
      redis,
      localTtlMs: 1000 * num('cache.localTtlSeconds', c.localTtlSeconds, redis ? 5 : 0, { min: 0, max: 3600, unit: 'seconds' }),
      ttlMs: 1000 * num('cache.ttlSeconds', c.ttlSeconds, 60, { min: 0, max: 86_400, unit: 'seconds' }),
      negativeTtlMs: 1000 * num('cache.negativeTtlSeconds', c.negativeTtlSeconds, 10, { min: 0, max: 3600, unit: 'seconds' }),
      staleIfErrorMs: 1000 * num('cache.staleIfErrorSeconds', c.staleIfErrorSeconds, 300, { min: 0, max: 86_400, unit: 'seconds' }),
      maxEntries: num('cache.maxEntries', c.maxEntries, 10_000, { min: 1, max: 10_000_000, unit: 'entries', integer: true }),
      maxNegativeEntries: num('cache.maxNegativeEntries', c.maxNegativeEntries, 10_000, { min: 1, max: 10_000_000, unit: 'entries', integer: true }),
      store: c.store,
      storeTimeoutMs: num('cache.storeTimeoutMs', c.storeTimeoutMs, 100, { min: 1, max: 60_000, unit: 'milliseconds' }),
      keyPrefix,
      namespace: namespaceOf(keyPrefix),
      indexSecret: c.indexSecret,
      revalidation: resolveRevalidation(c.revalidation, maxConcurrentCalls, problems, num),
    };
  }
  if (outagePolicy === 'serve-stale' && (cache === false || cache.staleIfErrorMs === 0)) {
    problems.push(
      "`outagePolicy: 'serve-stale'` needs cached results to serve: enable `cache` and set `cache.staleIfErrorSeconds` above 0 " +
        "(or choose `outagePolicy: 'fail-closed'`).",
    );
  }
  if (cache && cache.store !== undefined && cache.localTtlMs > 0) {
    warnings.push(
      "`cache.localTtlSeconds` is above 0 with a plain `cache.store`: evictions cannot reach the other replicas' in-process copies, " +
        'so an evicted token may be accepted there for up to that long. Use `cache.redis` (it broadcasts evictions), or keep localTtlSeconds at 0.',
    );
  }
  return { cacheNamespace, cache };
}

/** The default `cache.keyPrefix`: one per authorization server + client id (a hash of the cache namespace). */
export function defaultKeyPrefix(cacheNamespace: string): string {
  return `token-introspection:${hash('sha256', cacheNamespace, 'base64url').slice(0, 12)}`;
}

/** Background re-introspection bounds (refresh-ahead, re-checks), validated against the bulkhead they share. */
function resolveRevalidation(
  value: unknown,
  maxConcurrentCalls: number,
  problems: string[],
  num: NumberReader,
): Exclude<ResolvedOptions['cache'], false>['revalidation'] {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    problems.push('`cache.revalidation` must be an object: { refreshAheadWindow?, recheckFraction?, maxConcurrent?, maxPerSecond? }.');
    value = {};
  }
  const v = (value ?? {}) as NonNullable<IntrospectionCacheOptions['revalidation']>;
  const maxConcurrent = num('cache.revalidation.maxConcurrent', v.maxConcurrent, Math.min(4, maxConcurrentCalls), {
    min: 1,
    max: 1000,
    unit: 'lookups',
    integer: true,
  });
  if (maxConcurrent > maxConcurrentCalls) {
    problems.push(
      `\`cache.revalidation.maxConcurrent\` (${maxConcurrent}) is above \`resilience.maxConcurrentCalls\` (${maxConcurrentCalls}): ` +
        'background lookups could take every call to the authorization server. Lower it.',
    );
  }
  return {
    refreshAheadWindow: num('cache.revalidation.refreshAheadWindow', v.refreshAheadWindow, 0.2, { min: 0, max: 0.9, unit: 'TTL fraction' }),
    recheckFraction: num('cache.revalidation.recheckFraction', v.recheckFraction, 0, { min: 0, max: 1, unit: 'cache-hit fraction' }),
    maxConcurrent,
    maxPerSecond: num('cache.revalidation.maxPerSecond', v.maxPerSecond, 50, { min: 0.1, max: 100_000, unit: 'lookups per second' }),
  };
}

/** The Redis/Keyv namespace of a key prefix: trailing separators dropped (Keyv adds '::'). */
function namespaceOf(keyPrefix: string): string {
  return keyPrefix.replace(/:+$/, '') || keyPrefix;
}
