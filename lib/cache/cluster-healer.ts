import type { RateLimitedLogger } from '../utils/rate-limited-logger.js';

/** The part of node-redis's cluster client the healer touches (`_slots.rediscover` is what a MOVED reply triggers). */
export interface HealableCluster {
  readonly masters: ReadonlyArray<{ readonly client?: { readonly isReady: boolean; readonly options?: unknown } }>;
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
    private readonly minIntervalMs = 1000,
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
    this.running = this.rediscover().finally(() => (this.running = undefined));
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
      // Start with a master that answers; node-redis falls back to the root nodes. Inside the try: these are
      // @redis/client 5.x internals, and a release that changes them must cost a log line, not an unhandled rejection.
      const live = this.cluster.masters.find((m) => m.client?.isReady)?.client;
      const startWith = live ?? { options: this.cluster._options.rootNodes[0] };
      await this.cluster._slots.rediscover(startWith);
      for (const listener of this.rediscovered) listener();
    } catch (error) {
      this.log.warn('redis-rediscover', `Redis Cluster: could not read the slot map again: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}
