import type { IntrospectionCacheOptions, RedisClusterSettings, RedisSentinelSettings } from './cache-options.interface.js';
import type { ResolvedRedisSettings } from './resolved-options.js';

const URL_SHAPE = /^rediss?:\/\/[^\s,]+$/;

/** One redis:// or rediss:// URL that node-redis can parse (a comma-separated list is several nodes: `cluster`). */
function isRedisUrl(value: unknown): value is string {
  if (typeof value !== 'string' || !URL_SHAPE.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** Several URLs in one string (`'redis://a:6379,redis://b:6379'`), which node-redis reads as one invalid URL. */
const SEVERAL_URLS =
  "`cache.redis` holds several URLs in one string: list a cluster's nodes as `{ cluster: { rootNodes: ['redis://host1:6379', 'redis://host2:6379'] } }`, " +
  "or a Sentinel set's sentinels as `{ sentinel: { name: 'mymaster', sentinelRootNodes: [{ host, port }, …] } }`.";
const FORMS =
  "a redis:// or rediss:// URL, `{ url }`, `{ cluster: { rootNodes: ['redis://host:port', …] } }` or " +
  "`{ sentinel: { name: 'mymaster', sentinelRootNodes: [{ host, port }, …] } }` (each object may add `channel`)";

/**
 * `cache.redis` validated at start-up: one node (a URL or `{ url }`), a cluster (`{ cluster }`) or a Sentinel set
 * (`{ sentinel }`), each with its eviction channel (default `<namespace>:evictions`). Problems say what to change.
 */
export function resolveRedis(value: IntrospectionCacheOptions['redis'], namespace: string, problems: string[]): ResolvedRedisSettings | undefined {
  if (typeof value === 'string') {
    if (isRedisUrl(value)) return { topology: 'node', url: value, channel: `${namespace}:evictions` };
    problems.push(/,\s*rediss?:\/\//.test(value) ? SEVERAL_URLS : `\`cache.redis\` must be ${FORMS}.`);
    return undefined;
  }
  if (value === null || typeof value !== 'object') {
    problems.push(`\`cache.redis\` must be ${FORMS}.`);
    return undefined;
  }
  const given = (['url', 'cluster', 'sentinel'] as const).filter((k) => (value as unknown as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) {
    problems.push(
      given.length === 0
        ? `\`cache.redis\` must be ${FORMS}.`
        : `\`cache.redis\` has ${given.map((k) => `\`${k}\``).join(' and ')}: give exactly one of \`url\` (one node), \`cluster\` and \`sentinel\`.`,
    );
    return undefined;
  }
  const { channel = `${namespace}:evictions` } = value as { channel?: unknown };
  if (typeof channel !== 'string' || channel.length === 0) {
    problems.push('`cache.redis.channel` must be a non-empty string (the pub/sub channel of eviction broadcasts), or left out.');
    return undefined;
  }
  if ('url' in value && value.url !== undefined) {
    if (isRedisUrl(value.url)) return { topology: 'node', url: value.url, channel };
    if (typeof value.url === 'string' && /,\s*rediss?:\/\//.test(value.url)) problems.push(SEVERAL_URLS);
    else problems.push('`cache.redis.url` must be a redis:// or rediss:// URL, e.g. `redis://:password@10.0.0.5:6379`.');
    return undefined;
  }
  if ('cluster' in value && value.cluster !== undefined) {
    const cluster = checkCluster(value.cluster, problems);
    return cluster && { topology: 'cluster', cluster, channel };
  }
  const sentinel = checkSentinel((value as { sentinel: unknown }).sentinel, problems);
  return sentinel && { topology: 'sentinel', sentinel, channel };
}

function checkCluster(cluster: unknown, problems: string[]): RedisClusterSettings | undefined {
  const c = cluster as Partial<RedisClusterSettings> | null;
  const nodeOk = (node: unknown) =>
    isRedisUrl(node) ||
    (typeof node === 'object' && node !== null && (isUrl((node as { url?: unknown }).url) || hasHostPort((node as { socket?: unknown }).socket)));
  if (c === null || typeof c !== 'object' || !Array.isArray(c.rootNodes) || c.rootNodes.length === 0 || !c.rootNodes.every(nodeOk)) {
    problems.push(
      '`cache.redis.cluster.rootNodes` must be a non-empty array of cluster nodes: redis:// or rediss:// URLs, or node-redis client options ' +
        "(`{ url }` or `{ socket: { host, port } }`), e.g. `{ cluster: { rootNodes: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'] } }`.",
    );
    return undefined;
  }
  if (c.defaults !== undefined && (c.defaults === null || typeof c.defaults !== 'object')) {
    problems.push('`cache.redis.cluster.defaults` must be node-redis client options for every node (e.g. `{ password, socket: { tls: true } }`).');
    return undefined;
  }
  return c as RedisClusterSettings;
}

function checkSentinel(sentinel: unknown, problems: string[]): RedisSentinelSettings | undefined {
  const s = sentinel as Partial<RedisSentinelSettings> | null;
  if (s === null || typeof s !== 'object') {
    problems.push("`cache.redis.sentinel` must be `{ name: 'mymaster', sentinelRootNodes: [{ host, port }, …] }`.");
    return undefined;
  }
  let ok = true;
  if (typeof s.name !== 'string' || s.name.length === 0) {
    problems.push("`cache.redis.sentinel.name` must be the master name the sentinels monitor (`sentinel monitor <name> …`), e.g. 'mymaster'.");
    ok = false;
  }
  const nodeOk = (node: unknown) => (typeof node === 'string' && URL_SHAPE.test(node)) || (typeof node === 'object' && node !== null && hasHostPort(node));
  if (!Array.isArray(s.sentinelRootNodes) || s.sentinelRootNodes.length === 0 || !s.sentinelRootNodes.every(nodeOk)) {
    problems.push(
      '`cache.redis.sentinel.sentinelRootNodes` must be a non-empty array of sentinels: `{ host, port }` or redis:// URLs, ' +
        "e.g. `[{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }]`.",
    );
    ok = false;
  }
  for (const key of ['nodeClientOptions', 'sentinelClientOptions'] as const) {
    if (s[key] !== undefined && (s[key] === null || typeof s[key] !== 'object')) {
      problems.push(`\`cache.redis.sentinel.${key}\` must be node-redis client options (e.g. \`{ password, socket: { tls: true } }\`).`);
      ok = false;
    }
  }
  return ok ? (s as RedisSentinelSettings) : undefined;
}

function isUrl(value: unknown): boolean {
  return isRedisUrl(value);
}

function hasHostPort(socket: unknown): boolean {
  const s = socket as { host?: unknown; port?: unknown } | null;
  return typeof s === 'object' && s !== null && typeof s.host === 'string' && Number.isInteger(s.port);
}
