import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAST_SYNC, freePorts, Node, Topology } from './redis-topology-base.js';

/** A Sentinel set on 127.0.0.1: 1 master, 1 replica, 3 sentinels (quorum 2; down-after 1000 ms, failover-timeout 3000 ms). */
export class TestRedisSentinel extends Topology {
  /** The master name the sentinels monitor (random: parallel suites never confuse their sets). */
  readonly name = `nti-${randomBytes(4).toString('hex')}`;
  private sentinels: Node[] = [];

  static async start(): Promise<TestRedisSentinel> {
    const set = new TestRedisSentinel();
    try {
      const [master, replica, ...sentinelPorts] = await freePorts(5);
      const data = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', set.dir, ...FAST_SYNC];
      const auth = ['--requirepass', set.password, '--masterauth', set.password];
      set.nodes.push(new Node(master, [...data(master), ...auth]));
      set.nodes.push(new Node(replica, [...data(replica), ...auth, '--replicaof', '127.0.0.1', String(master)]));
      // Each sentinel is told its peers and the replica up front (else discovery takes a 10 s INFO period).
      const ids = sentinelPorts.map(() => randomBytes(20).toString('hex'));
      for (const [i, port] of sentinelPorts.entries()) {
        const conf = join(set.dir, `sentinel-${port}.conf`);
        const peers = sentinelPorts.flatMap((p, j) => (j === i ? [] : [`sentinel known-sentinel ${set.name} 127.0.0.1 ${p} ${ids[j]}`]));
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${set.dir}`,
            `sentinel monitor ${set.name} 127.0.0.1 ${master} 2`,
            `sentinel auth-pass ${set.name} ${set.password}`,
            `sentinel down-after-milliseconds ${set.name} 1000`,
            `sentinel failover-timeout ${set.name} 3000`,
            `sentinel parallel-syncs ${set.name} 1`,
            `sentinel myid ${ids[i]}`,
            `sentinel known-replica ${set.name} 127.0.0.1 ${replica}`,
            ...peers,
            '',
          ].join('\n'),
        );
        const node = new Node(port, [conf, '--sentinel']);
        set.sentinels.push(node);
        set.nodes.push(node);
      }
      await Promise.all(set.nodes.map((n) => n.start()));
      // Ready: the replica is in sync, and every sentinel knows the replica and the two other sentinels.
      await Topology.until('replica sync and sentinel discovery', () => set.discovered(), 20_000);
      return set;
    } catch (error) {
      await set.stop();
      throw error;
    }
  }

  /** For `cache.redis.sentinel.sentinelRootNodes`. */
  get sentinelRootNodes(): Array<{ host: string; port: number }> {
    return this.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port }));
  }

  /** The port the sentinels name as master now. */
  masterPort(): number {
    const live = this.sentinels.find((s) => s.alive)!;
    return Number(this.cli(live.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name).split('\n')[1]);
  }

  /** The data node that is not the master. */
  replicaPort(): number {
    const master = this.masterPort();
    return this.nodes.find((n) => !this.isSentinel(n) && n.port !== master)!.port;
  }

  /** `SENTINEL FAILOVER <name>`: the replica is promoted (the old master becomes its replica). */
  failover(): string {
    return this.cli(this.sentinels[0].port, 'SENTINEL', 'FAILOVER', this.name);
  }

  /** Kills the current master (SIGKILL); the sentinels promote the replica after down-after-milliseconds. */
  async killMaster(): Promise<number> {
    const port = this.masterPort();
    await this.node(port).kill();
    return port;
  }

  /** Healthy: the sentinels name a live master that answers role:master and accepts writes. */
  async waitHealthy(notPort?: number, withinMs = 15_000): Promise<void> {
    await Topology.until(
      'a live master named by the sentinels',
      () => {
        const port = this.masterPort();
        if (!port || port === notPort || !this.node(port).alive) return false;
        return /role:master/.test(this.cli(port, 'INFO', 'replication')) && this.cli(port, 'SET', `${this.name}:probe`, '1') === 'OK';
      },
      withinMs,
    );
  }

  protected override isSentinel(node: Node): boolean {
    return this.sentinels.includes(node);
  }

  private discovered(): boolean {
    const replica = this.nodes[1];
    if (!/master_link_status:up/.test(this.cli(replica.port, 'INFO', 'replication'))) return false;
    return this.sentinels.every((s) => {
      const info = this.cli(s.port, 'SENTINEL', 'MASTER', this.name);
      const replicas = this.cli(s.port, 'SENTINEL', 'REPLICAS', this.name);
      const field = (text: string, name: string) => new RegExp(`(?:^|\\n)${name}\\n([^\\n]*)`).exec(text)?.[1] ?? '';
      // A replica the sentinel would promote: seen by INFO, link to the master up (else SENTINEL FAILOVER says NOGOODSLAVE).
      const promotable =
        field(replicas, 'flags') === 'slave' && field(replicas, 'master-link-status') === 'ok' && Number(field(replicas, 'info-refresh')) < 5000;
      return promotable && Number(field(info, 'num-other-sentinels')) >= 2;
    });
  }
}
