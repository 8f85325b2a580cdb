import type { RedisClusterSettings, RedisNodeClientOptions, RedisSentinelSettings } from '../options/cache-options.interface.js';
import type { ResolvedRedisSettings } from '../options/resolved-options.js';
import type { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { ClusterHealer, type HealableCluster } from './cluster-healer.js';

/** The node-redis commands the coordinator sends: the same on a client, a cluster and a sentinel client. */
export interface RedisCommands {
  publish(channel: string, message: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
  set(key: string, value: string, options: { condition?: 'NX'; expiration: { type: 'PX'; value: number } }): Promise<string | null>;
  get(key: string): Promise<string | null>;
  sRem(key: string, members: string[]): Promise<number>;
  del(key: string): Promise<number>;
  multi(): {
    sAdd(key: string, member: string): any;
    pExpire(key: string, ms: number, mode?: 'NX' | 'XX' | 'GT' | 'LT'): any;
    set(key: string, value: string, options: { expiration: { type: 'PX'; value: number } }): any;
    del(key: string): any;
    sRem(key: string, member: string): any;
    exec(): Promise<unknown>;
  };
}

/** What node-redis's `createClient` / `createCluster` / `createSentinel` return, as far as used here. */
interface Connectable extends RedisCommands {
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  duplicate?(): Connectable;
  close?(): Promise<unknown>;
  destroy?(): unknown;
  readonly isOpen: boolean;
}

/** One of the three Redis topologies, connected in the background. */
export interface RedisConnection {
  /** Sends the coordinator's commands (a cluster client routes them by slot; a sentinel client to the current master). */
  readonly commands: RedisCommands;
  /** The client given to `@keyv/redis` (it knows all three kinds). */
  readonly storeClient: unknown;
  /** Every Redis key of this service starts with it: on a cluster the namespace as a hash tag (`{ns}`), so all share one slot. */
  readonly keyNamespace: string;
  /** Resolves once the first connection is up (or failed: it is retried in the background). */
  readonly connecting: Promise<void>;
  /** Subscribes to the eviction channel (re-subscribed by node-redis after a reconnect or a failover); resolves once subscribed. */
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  /** A command failed, or the subscription went deaf: on a cluster, the slot map is read again (see `ClusterHealer`). */
  failed(): void;
  /**
   * Called when the eviction subscription may have had a gap (the subscriber reconnected, the Sentinel master
   * changed, the cluster's slot map was read again): at once, and once more a second later, when it has moved.
   */
  onResync(listener: () => void): void;
  /** Closes every connection; one that does not close within `bound` is destroyed. */
  close(bound: <T>(fn: () => Promise<T>) => Promise<T>): Promise<void>;
}

/**
 * What is used of `@keyv/redis` (node-redis's factories), structurally: a type import of that optional peer dependency
 * would reach the published declaration files, and an app without it (and `skipLibCheck: false`) would not compile.
 */
interface RedisModule {
  createClient(options: never): unknown;
  createCluster(options: never): unknown;
  createSentinel(options: never): unknown;
}

/**
 * Opens the Redis connection `cache.redis` describes: one node, a cluster or a Sentinel set. Commands fail at once
 * while disconnected (`disableOfflineQueue`: requests never wait for Redis), connections are retried with a capped
 * backoff until `closing()` says the application shuts down, and the first connection is made in the background.
 */
export function openRedisConnection(
  redis: RedisModule,
  settings: ResolvedRedisSettings,
  options: { readonly namespace: string; readonly storeTimeoutMs: number },
  log: RateLimitedLogger,
  closing: () => boolean,
): RedisConnection {
  const connectTimeout = Math.max(1000, options.storeTimeoutMs * 10);
  const reconnectStrategy = (retries: number) => (closing() ? false : Math.min(100 * 2 ** retries, settings.topology === 'node' ? 2000 : 1000));
  const own = { disableOfflineQueue: true };
  const socket = (given?: RedisNodeClientOptions['socket']) => ({ connectTimeout, ...given, reconnectStrategy });
  let client: Connectable;
  let healer: ClusterHealer | undefined;
  const where = describe(settings);
  if (settings.topology === 'node') {
    client = redis.createClient({ url: settings.url, ...own, socket: socket() } as never) as Connectable;
  } else if (settings.topology === 'cluster') {
    client = redis.createCluster(clusterOptions(settings.cluster, own, socket, connectTimeout) as never) as Connectable;
    healer = new ClusterHealer(client as unknown as HealableCluster, log, connectTimeout);
  } else {
    client = redis.createSentinel(sentinelOptions(settings.sentinel, own, socket) as never) as Connectable;
  }
  client.on('error', (error: Error) => log.warn('redis-error', `Redis (${where}): ${messageOf(error)}${hint(messageOf(error))}`));
  if (settings.topology === 'cluster') {
    client.on('node-error', (error: Error, node: { host: string; port: number }) =>
      log.warn('redis-node-error', `Redis Cluster node ${node?.host}:${node?.port}: ${messageOf(error)}`),
    );
  }
  // A single node's client reconnects by itself; a cluster or sentinel client that never connected is retried here.
  const connecting = connectUntilOpen(client, closing, (error) => log.warn('redis-connect', `Redis (${where}) not reachable yet: ${messageOf(error)}`));
  // One node: a subscribed connection cannot send commands, so pub/sub gets its own. A cluster or sentinel client
  // keeps a pub/sub connection of its own (global pub/sub on a cluster: PUBLISH reaches subscribers on every node).
  const subscriber = settings.topology === 'node' ? client.duplicate!() : client;
  if (subscriber !== client) subscriber.on('error', (error: Error) => log.warn('redis-sub-error', `Redis subscriber: ${messageOf(error)}`));
  const resync: Array<() => void> = [];
  const fire = () => {
    if (closing()) return;
    for (const listener of resync) listener();
    setTimeout(() => !closing() && resync.forEach((listener) => listener()), 1000).unref?.();
  };
  if (subscriber !== client) {
    let readyBefore = false;
    subscriber.on('ready', () => (readyBefore ? fire() : (readyBefore = true)));
  }
  if (settings.topology === 'sentinel') {
    // The first MASTER_CHANGE is the initial discovery, not a failover.
    let master: string | undefined;
    client.on('topology-change', (event: { type?: string; node?: { host: string; port: number } }) => {
      if (event?.type !== 'MASTER_CHANGE') return;
      const next = `${event.node?.host}:${event.node?.port}`;
      if (master !== undefined && master !== next) fire();
      master = next;
    });
  }
  healer?.onRediscovered(fire);
  const keyNamespace = settings.topology === 'cluster' && !/\{[^}]+\}/.test(options.namespace) ? `{${options.namespace}}` : options.namespace;
  return {
    commands: client,
    storeClient: client,
    keyNamespace,
    connecting,
    subscribe(channel, listener) {
      const ready = subscriber === client ? connecting : connectUntilOpen(subscriber, closing, () => undefined);
      return ready.then(() => subscribeUntilDone(subscriber, channel, listener, closing, log));
    },
    failed: () => healer?.poke(),
    onResync: (listener) => void resync.push(listener),
    async close(bound) {
      healer?.close();
      await Promise.all(
        [...new Set([subscriber, client])].map(async (c) => {
          try {
            if (!c.isOpen) return await c.destroy?.();
            await bound(async () => c.close?.());
          } catch {
            await c.destroy?.();
          }
        }),
      );
    },
  };
}

/** A hint for the errors a wrong topology setting causes (a cluster or a Sentinel set configured as one URL). */
export function hint(message: string): string {
  if (/^(MOVED|ASK) |CROSSSLOT/.test(message)) return ' (this Redis is a cluster: configure `cache.redis: { cluster: { rootNodes: [...] } }`)';
  if (/^READONLY/.test(message)) {
    return ' (a replica answered: after a failover, a client given one URL stays on the demoted master; with Sentinel configure `cache.redis: { sentinel: { name, sentinelRootNodes } }`)';
  }
  if (/PEXPIRE/i.test(message) && /syntax|wrong number of arguments/i.test(message)) return ' (PEXPIRE NX/GT needs Redis 7.0+)';
  return '';
}

async function connectUntilOpen(client: Connectable, closing: () => boolean, warn: (error: Error) => void): Promise<void> {
  for (let attempt = 0; !closing(); attempt++) {
    try {
      if (!client.isOpen) await client.connect();
      return;
    } catch (error) {
      if (client.isOpen) return; // a node client reconnects by itself from here
      if (attempt === 0) warn(error as Error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)).unref?.());
    }
  }
}

async function subscribeUntilDone(
  client: Connectable,
  channel: string,
  listener: (message: string) => void,
  closing: () => boolean,
  log: RateLimitedLogger,
): Promise<void> {
  for (let attempt = 0; !closing(); attempt++) {
    try {
      await client.subscribe(channel, listener);
      return;
    } catch (error) {
      log.warn('redis-sub-connect', `Redis subscriber not connected yet: ${messageOf(error)}`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2000)).unref?.());
    }
  }
}

/**
 * node-redis `createCluster` options: URL root nodes as `{ url }`; `defaults` (every discovered node) inherit the
 * credentials and TLS of the first URL root node unless given; the library's offline queue and reconnect settings.
 * Root nodes serve only to read the slot map: their connections get a `socketTimeout` (`discoveryTimeoutMs`, unless
 * given), so a frozen root node fails that read instead of holding it (and node-redis's every later rediscovery) for good.
 */
function clusterOptions(
  c: RedisClusterSettings,
  own: object,
  socket: (given?: RedisNodeClientOptions['socket']) => object,
  discoveryTimeoutMs: number,
): object {
  const rootNodes = c.rootNodes
    .map((node) => (typeof node === 'string' ? { url: node } : node))
    .map((node) => ({ ...node, socket: { socketTimeout: discoveryTimeoutMs, ...node.socket } }));
  const inherited = credentials(rootNodes.find((node) => typeof node.url === 'string')?.url);
  const defaults = { ...inherited, ...c.defaults };
  return { ...c, rootNodes, defaults: { ...defaults, ...own, socket: socket({ ...inherited.socket, ...c.defaults?.socket }) } };
}

/** node-redis `createSentinel` options: URL sentinels as `{ host, port }` (their credentials for the sentinels); the library's settings for the data nodes. */
function sentinelOptions(s: RedisSentinelSettings, own: object, socket: (given?: RedisNodeClientOptions['socket']) => object): object {
  const urls = s.sentinelRootNodes.filter((node): node is string => typeof node === 'string');
  const sentinelRootNodes = s.sentinelRootNodes.map((node) => {
    if (typeof node !== 'string') return node;
    const u = new URL(node);
    return { host: u.hostname, port: Number(u.port || 26379) };
  });
  const sentinelClientOptions = { ...credentials(urls[0]), ...s.sentinelClientOptions };
  return { ...s, sentinelRootNodes, sentinelClientOptions, nodeClientOptions: { ...s.nodeClientOptions, ...own, socket: socket(s.nodeClientOptions?.socket) } };
}

/** The username, password and TLS of a redis:// or rediss:// URL. */
function credentials(url: string | undefined): RedisNodeClientOptions {
  if (!url) return {};
  const u = new URL(url);
  return {
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    ...(u.protocol === 'rediss:' && { socket: { tls: true } }),
  };
}

/** Where Redis is, for logs (passwords redacted). */
function describe(settings: ResolvedRedisSettings): string {
  if (settings.topology === 'node') return redact(settings.url);
  if (settings.topology === 'sentinel') return `sentinel master '${settings.sentinel.name}'`;
  return `cluster ${settings.cluster.rootNodes.map((n) => (typeof n === 'string' ? redact(n) : n.url ? redact(n.url) : `${n.socket?.host}:${n.socket?.port}`)).join(', ')}`;
}

/** An error's message for a log line: never `undefined` (node-redis' Sentinel errors can have none). */
function messageOf(error: unknown): string {
  const e = error as { message?: unknown; name?: unknown } | undefined;
  return (typeof e?.message === 'string' && e.message) || (typeof e?.name === 'string' && e.name) || 'unknown error';
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
