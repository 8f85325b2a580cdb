/** Issue 26: `cache.redis` for one node, a Redis Cluster or a Sentinel set, validated at start-up. */
import { describe, expect, it } from '@jest/globals';
import type { IntrospectionModuleOptions } from '../../lib/index.js';
import { resolveOptions } from '../../lib/options/resolve-options.js';
import { hint } from '../../lib/cache/redis-connection.js';

const base = { introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 'secret' };
const resolve = (redis: unknown) => resolveOptions({ ...base, cache: { redis, keyPrefix: 'orders' } } as IntrospectionModuleOptions);
const problem = (redis: unknown): string => {
  try {
    resolve(redis);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no start-up error');
};
const redisOf = (redis: unknown) => {
  const cache = resolve(redis).cache;
  return cache === false ? undefined : cache.redis;
};

describe('cache.redis settings for one node, a cluster and a Sentinel set', () => {
  it('a URL or { url } is one node, with the default eviction channel', () => {
    expect(redisOf('redis://10.0.0.5:6379')).toEqual({ topology: 'node', url: 'redis://10.0.0.5:6379', channel: 'orders:evictions' });
    expect(redisOf({ url: 'rediss://h:6380', channel: 'c' })).toEqual({ topology: 'node', url: 'rediss://h:6380', channel: 'c' });
  });

  it('{ cluster: { rootNodes } } is a cluster; node-redis options are kept as given', () => {
    const cluster = { rootNodes: ['redis://10.0.0.1:6379', { socket: { host: '10.0.0.2', port: 6379 } }], defaults: { password: 'p' }, useReplicas: false };
    expect(redisOf({ cluster })).toEqual({ topology: 'cluster', cluster, channel: 'orders:evictions' });
  });

  it('{ sentinel: { name, sentinelRootNodes } } is a Sentinel set', () => {
    const sentinel = {
      name: 'mymaster',
      sentinelRootNodes: [{ host: '10.0.0.1', port: 26379 }, 'redis://10.0.0.2:26379'],
      nodeClientOptions: { password: 'p' },
    };
    expect(redisOf({ sentinel })).toEqual({ topology: 'sentinel', sentinel, channel: 'orders:evictions' });
  });

  it('a cluster without root nodes, or with a node that is neither a URL nor { url } / { socket: { host, port } }, is refused saying what to give', () => {
    expect(problem({ cluster: { rootNodes: [] } })).toContain('`cache.redis.cluster.rootNodes` must be a non-empty array of cluster nodes');
    expect(problem({ cluster: { rootNodes: ['10.0.0.1:6379'] } })).toContain("e.g. `{ cluster: { rootNodes: ['redis://10.0.0.1:6379'");
  });

  it('a Sentinel set without a master name or without sentinels is refused saying what to give', () => {
    expect(problem({ sentinel: { sentinelRootNodes: [{ host: 'h', port: 26379 }] } })).toContain('`cache.redis.sentinel.name` must be the master name');
    expect(problem({ sentinel: { name: 'm', sentinelRootNodes: [{ host: 'h' }] } })).toContain(
      '`cache.redis.sentinel.sentinelRootNodes` must be a non-empty array',
    );
  });

  it('two topologies at once, or none, are refused', () => {
    expect(problem({ url: 'redis://h:6379', cluster: { rootNodes: ['redis://h:6379'] } })).toContain(
      'give exactly one of `url` (one node), `cluster` and `sentinel`',
    );
    expect(problem({ channel: 'x' })).toContain('`cache.redis` must be a redis:// or rediss:// URL, `{ url }`, `{ cluster:');
    expect(problem('10.0.0.5:6379')).toContain('`cache.redis` must be a redis:// or rediss:// URL');
  });

  it('several URLs in one string are refused at start-up, pointing at `cluster`, without repeating the password', () => {
    for (const redis of ['redis://:S3cret@10.0.0.1:6379,redis://:S3cret@10.0.0.2:6379', { url: 'redis://:S3cret@h:1, redis://:S3cret@h:2' }]) {
      const message = problem(redis);
      expect(message).toContain('holds several URLs in one string');
      expect(message).toContain('{ cluster: { rootNodes:');
      expect(message).not.toContain('S3cret');
    }
    expect(problem({ cluster: { rootNodes: ['redis://a:1,redis://b:2'] } })).toContain('`cache.redis.cluster.rootNodes` must be');
  });

  it('a Redis error caused by the wrong topology setting says which setting to use, and no longer blames the Redis version', () => {
    expect(hint('MOVED 3999 127.0.0.1:7001')).toContain('cache.redis: { cluster:');
    expect(hint("CROSSSLOT Keys in request don't hash to the same slot")).toContain('cache.redis: { cluster:');
    expect(hint("READONLY You can't write against a read only replica.")).toContain('cache.redis: { sentinel:');
    expect(hint('Timeout')).toBe('');
    expect(hint('ERR wrong number of arguments for PEXPIRE')).toContain('Redis 7.0+');
  });
});
