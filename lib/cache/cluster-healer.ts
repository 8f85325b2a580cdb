import { connect } from 'node:net';
import type { RateLimitedLogger } from '../utils/rate-limited-logger.js';

/** A node client of node-redis's cluster client, as far as the healer touches it. */
interface NodeClient {
  readonly isReady: boolean;
  readonly options?: unknown;
  ping?(): Promise<unknown>;
}

/** The part of node-redis's cluster client the healer touches (`_slots.rediscover` is what a MOVED reply triggers). */
export interface HealableCluster {
  readonly masters: ReadonlyArray<{ readonly client?: NodeClient }>;
  readonly replicas?: ReadonlyArray<{ readonly client?: NodeClient }>;
  readonly _options: { readonly rootNodes: readonly unknown[] };
  readonly _slots: { rediscover(startWith: { options?: unknown }): Promise<void> };
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Works around node-redis's cluster client staying on a dead master: it rediscovers the slot map only on a MOVED
 * or ASK reply, which a dead node never sends, so commands for that master's slots kept failing for over 45 s after
 * the cluster had promoted a replica (node-redis 5.12). Whenever a node's connection fails (`node-error`,
 * `node-reconnecting`) or a command fails, the slot map is read again (CLUSTER SLOTS), at most once per `minIntervalMs`:
 * once the cluster has promoted a replica, the map names it, the dead node's client is dropped, and the global
 * pub/sub subscription moves to a live node.
 *
 * The rediscovery starts with a node that answers a PING within `probeMs` now: a frozen node (SIGSTOP, a hung host)
 * still looks ready, and node-redis would open a connection to it whose handshake never returns, holding its own
 * rediscovery (MOVED healing included) until the node wakes up. Each rediscovery is also bounded (`boundMs`), so a
 * stuck one never stops the next.
 */
export class ClusterHealer {
  private last = 0;
  private running?: Promise<void>;
  private closed = false;
  /** Slot-map rediscoveries run (for tests and logs). */
  rediscoveries = 0;
  private readonly rediscovered: Array<() => void> = [];

  constructor(
    private readonly cluster: HealableCluster,
    private readonly log: RateLimitedLogger,
    /** The slot read's connection is closed after this long without an answer (a node frozen after its probe). */
    private readonly discoveryTimeoutMs = 1000,
    private readonly minIntervalMs = 1000,
    private readonly probeMs = 300,
    private readonly boundMs = 3000,
  ) {
    const poke = () => this.poke();
    cluster.on('node-error', poke);
    cluster.on('node-reconnecting', poke);
  }

  /** Something failed: rediscover the slot map unless that was done less than `minIntervalMs` ago (or is running). */
  poke(): void {
    const now = Date.now();
    if (this.closed || this.running || now - this.last < this.minIntervalMs) return;
    this.last = now;
    this.rediscoveries++;
    this.running = this.bounded(this.rediscover()).finally(() => (this.running = undefined));
  }

  /** Called after each rediscovery (the global pub/sub subscription may have moved to another node). */
  onRediscovered(listener: () => void): void {
    this.rediscovered.push(listener);
  }

  /** No more rediscoveries (the connection is closing). */
  close(): void {
    this.closed = true;
  }

  private async rediscover(): Promise<void> {
    try {
      // Start with a node that answers now; node-redis falls back to the root nodes. Inside the try: these are
      // @redis/client 5.x internals, and a release that changes them must cost a log line, not an unhandled rejection.
      const startWith = (await this.answering()) ?? (await this.answeringRootNode());
      if (!startWith) {
        // Never start from a node not seen answering: node-redis keeps one rediscovery running and hands it to every
        // later call (MOVED healing included), so one started against a frozen node would hold them all until it wakes.
        this.log.warn('redis-rediscover', 'Redis Cluster: no node answered a PING in time; reading the slot map again on the next failure.');
        return;
      }
      // node-redis reads the slot map over a new connection with these options; bounded, so a node that freezes after
      // answering the probe fails the read (node-redis then tries the root nodes, bounded the same way: clusterOptions).
      await this.cluster._slots.rediscover({ options: withSocketTimeout(startWith.options, this.discoveryTimeoutMs) });
      for (const listener of this.rediscovered) listener();
    } catch (error) {
      this.log.warn('redis-rediscover', `Redis Cluster: could not read the slot map again: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  /** The first master (or else replica) whose connection answers a PING within `probeMs`; undefined when none does. */
  private async answering(): Promise<NodeClient | undefined> {
    const candidates = [...this.cluster.masters, ...(this.cluster.replicas ?? [])].map((n) => n.client).filter((c): c is NodeClient => !!c?.isReady);
    if (candidates.length === 0) return undefined;
    if (candidates.some((c) => typeof c.ping !== 'function')) return candidates[0];
    const probes = candidates.map(
      (client) =>
        new Promise<NodeClient>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no answer')), this.probeMs);
          client.ping!().then(
            () => (clearTimeout(timer), resolve(client)),
            (error: unknown) => (clearTimeout(timer), reject(error as Error)),
          );
        }),
    );
    try {
      return await Promise.any(probes);
    } catch {
      return undefined;
    }
  }

  /** The first configured root node that answers a PING over a fresh TCP connection within `probeMs`, as node-redis takes it. */
  private async answeringRootNode(): Promise<{ options: unknown } | undefined> {
    const probes = this.cluster._options.rootNodes.map((node) => {
      const address = addressOf(node);
      if (!address) return Promise.reject(new Error('no address'));
      return tcpPing(address.host, address.port, this.probeMs).then(() => ({ options: node }));
    });
    try {
      return await Promise.any(probes);
    } catch {
      return undefined;
    }
  }

  private bounded(work: Promise<void>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn('redis-rediscover', `Redis Cluster: reading the slot map again took over ${this.boundMs} ms; trying again on the next failure.`);
        resolve();
      }, this.boundMs);
      timer.unref?.();
    });
    return Promise.race([work, limit]).finally(() => clearTimeout(timer));
  }
}

/** A node's client options with a `socketTimeout` (an idle connection is closed after it), unless they have one. */
function withSocketTimeout(options: unknown, ms: number): unknown {
  const o = (options ?? {}) as { socket?: object };
  return { ...o, socket: { socketTimeout: ms, ...o.socket } };
}

/** Host and port of a root node as node-redis takes them: a URL, `{ url }` or `{ socket: { host, port } }`. */
function addressOf(node: unknown): { host: string; port: number } | undefined {
  const n = node as { url?: unknown; socket?: { host?: unknown; port?: unknown } } | string;
  try {
    const url = typeof n === 'string' ? n : typeof n?.url === 'string' ? n.url : undefined;
    if (url) {
      const u = new URL(url);
      return { host: u.hostname, port: Number(u.port || 6379) };
    }
  } catch {
    return undefined;
  }
  const socket = typeof n === 'object' ? n?.socket : undefined;
  return typeof socket?.host === 'string' && typeof socket.port === 'number' ? { host: socket.host, port: socket.port } : undefined;
}

/** Resolves when the server at host:port answers an inline PING (any reply proves it is not frozen), within `ms`. */
function tcpPing(host: string, port: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const done = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error('no answer')), ms);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', () => done());
    socket.once('error', (error) => done(error));
  });
}
