import { spawnSync } from 'node:child_process';
import { FAST_SYNC, freePorts, Node, Topology } from './redis-topology-base.js';

/** A Redis Cluster of 3 masters and 3 replicas on 127.0.0.1 (cluster-node-timeout 1500 ms: a failover takes ~2–3 s). */
export class TestRedisCluster extends Topology {
  static async start(): Promise<TestRedisCluster> {
    const cluster = new TestRedisCluster();
    try {
      const ports = await freePorts(6, true);
      for (const port of ports) {
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', cluster.dir, ...FAST_SYNC];
        args.push('--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '1500');
        args.push('--requirepass', cluster.password, '--masterauth', cluster.password);
        cluster.nodes.push(new Node(port, args));
      }
      await Promise.all(cluster.nodes.map((n) => n.start()));
      const create = spawnSync(
        'redis-cli',
        ['-a', cluster.password, '--no-auth-warning', '--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
      await cluster.waitHealthy(20_000);
      // Every master has its replica, in sync (right after `--cluster create` the replicas still show as masters).
      await Topology.until(
        'three replicas in sync',
        () => cluster.nodes.filter((n) => /role:slave[\s\S]*master_link_status:up/.test(cluster.cli(n.port, 'INFO', 'replication'))).length === 3,
        20_000,
      );
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The nodes' URLs (with the password), for `cache.redis.cluster.rootNodes`. */
  get rootNodes(): string[] {
    return this.nodes.map((n) => `redis://:${this.password}@127.0.0.1:${n.port}`);
  }

  get ports(): number[] {
    return this.nodes.map((n) => n.port);
  }

  /** The port of the live master serving the slot of `key`. */
  masterOf(key: string): number {
    const live = this.liveNode();
    const slot = Number(this.cli(live, 'CLUSTER', 'KEYSLOT', key));
    return this.shards(live).find((s) => slot >= s.from && slot <= s.to)!.master;
  }

  /** The replicas (ports) of a master, as a live node sees them. */
  replicasOf(masterPort: number): number[] {
    const lines = this.cli(this.liveNode(masterPort), 'CLUSTER', 'NODES').split('\n');
    const id = lines.find((l) => l.split(' ')[1]?.startsWith(`127.0.0.1:${masterPort}@`))?.split(' ')[0];
    return lines.filter((l) => l.split(' ')[3] === id && l.includes('slave') && !l.includes('fail')).map((l) => Number(/:(\d+)@/.exec(l)![1]));
  }

  /** Kills a master (SIGKILL). */
  async kill(port: number): Promise<void> {
    await this.node(port).kill();
  }

  /** Starts a killed node again (same port and nodes.conf): it rejoins as a replica of its old shard's master, in sync. */
  async restart(port: number): Promise<void> {
    await this.node(port).start();
    await Topology.until(
      `node ${port} back as a replica in sync`,
      () => /role:slave[\s\S]*master_link_status:up/.test(this.cli(port, 'INFO', 'replication')),
      20_000,
    );
  }

  /** `CLUSTER FAILOVER [FORCE|TAKEOVER]` on a replica: it becomes the master of its shard. FORCE works with the master dead. */
  failover(replicaPort: number, mode: '' | 'FORCE' | 'TAKEOVER' = ''): string {
    return this.cli(replicaPort, 'CLUSTER', 'FAILOVER', ...(mode ? [mode] : []));
  }

  /** Healthy: every live node says cluster_state:ok and every slot range has a live master. */
  async waitHealthy(withinMs = 15_000): Promise<void> {
    await Topology.until(
      'cluster_state:ok with every slot served by a live master',
      () => {
        const live = this.nodes.filter((n) => n.alive);
        if (!live.every((n) => /cluster_state:ok/.test(this.cli(n.port, 'CLUSTER', 'INFO')))) return false;
        const shards = this.shards(live[0].port);
        const covered = shards.reduce((sum, s) => sum + (s.to - s.from + 1), 0);
        return covered === 16384 && shards.every((s) => this.node(s.master).alive);
      },
      withinMs,
    );
  }

  private liveNode(except?: number): number {
    return this.nodes.find((n) => n.alive && n.port !== except)!.port;
  }

  /** Slot ranges and their masters, from CLUSTER SLOTS (redis-cli --raw flattens the nested reply). */
  private shards(port: number): Array<{ from: number; to: number; master: number }> {
    const shards: Array<{ from: number; to: number; master: number }> = [];
    for (const line of this.cli(port, 'CLUSTER', 'NODES').split('\n')) {
      const fields = line.split(' ');
      if (!fields[2]?.includes('master') || fields[2].includes('fail')) continue;
      const master = Number(/:(\d+)@/.exec(fields[1])![1]);
      for (const range of fields.slice(8)) {
        if (range.startsWith('[')) continue;
        const [from, to] = range.split('-').map(Number);
        shards.push({ from, to: to ?? from, master });
      }
    }
    return shards;
  }
}
