import type { IntrospectionModuleOptions } from '../../lib/index.js';
import { startApp } from './app.js';
import { CLIENTS, TestAuthorizationServer } from './authorization-server.js';
import { sleep } from './engine.js';
import { TestRedisCluster } from './redis-topology.js';
import { IntrospectionCounter, type Replica } from './topology-soak.js';

/**
 * Two replicas (Express and Fastify) sharing a real Redis Cluster through `cache.redis.cluster`, with a key prefix whose
 * hash slot belongs to the cluster's first master: the node a slot-map rediscovery starts with, which the adversarial
 * suites freeze. The authorization server sits behind an `IntrospectionCounter` (AS calls counted).
 */
export class FirstMasterReplicas {
  private frozen?: number;

  private constructor(
    readonly cluster: TestRedisCluster,
    readonly as: TestAuthorizationServer,
    readonly counter: IntrospectionCounter,
    readonly a: Replica,
    readonly b: Replica,
    /** The key prefix (`cache.keyPrefix`); its keys hash to `{prefix}`. */
    readonly prefix: string,
  ) {}

  static async start(): Promise<FirstMasterReplicas> {
    const [cluster, as] = await Promise.all([TestRedisCluster.start(), TestAuthorizationServer.start()]);
    const port0 = cluster.ports[0];
    const slots = cluster.cli(port0, 'CLUSTER', 'SLOTS').split('\n');
    const [from, to] = [Number(slots[0]), Number(slots[1])];
    let i = 0;
    while (!(Number(cluster.cli(port0, 'CLUSTER', 'KEYSLOT', `{p${i}}`)) >= from && Number(cluster.cli(port0, 'CLUSTER', 'KEYSLOT', `{p${i}}`)) <= to)) i++;
    const prefix = `p${i}`;
    const counter = await IntrospectionCounter.start(as.introspectionEndpoint);
    const options: IntrospectionModuleOptions = {
      introspectionEndpoint: counter.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: { cluster: { rootNodes: cluster.rootNodes } }, keyPrefix: prefix, storeTimeoutMs: 100 },
    };
    const a = await startApp('express', options);
    const b = await startApp('fastify', options);
    await sleep(500);
    return new FirstMasterReplicas(cluster, as, counter, a, b, prefix);
  }

  /** The port of the master serving this prefix's slot. */
  master(): number {
    return this.cluster.masterOf(`{${this.prefix}}`);
  }

  /** Freezes a node (SIGSTOP): it keeps its sockets but never answers; `stop()` wakes it first. */
  freeze(port: number): void {
    this.node(port).process.kill('SIGSTOP');
    this.frozen = port;
  }

  /** Wakes the frozen node (SIGCONT). */
  wake(): void {
    if (this.frozen) this.node(this.frozen).process.kill('SIGCONT');
    this.frozen = undefined;
  }

  async stop(): Promise<void> {
    if (this.frozen) this.node(this.frozen).process.kill('SIGCONT');
    await this.a.app.close();
    await this.b.app.close();
    await this.counter.stop();
    await this.as.stop();
    await this.cluster.stop();
  }

  private node(port: number): { process: { kill(signal: string): void } } {
    return (this.cluster as unknown as { node(port: number): { process: { kill(signal: string): void } } }).node(port);
  }
}
