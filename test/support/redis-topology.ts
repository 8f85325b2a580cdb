import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';

/** Whether `redis-server` and `redis-cli` are on this machine (CI installs both with the Debian package; see .ci/run). */
export const hasRedisTools = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;

/**
 * `describe` for suites that start a Redis topology. Where `redis-server` or `redis-cli` is missing the suite
 * fails, saying what to install: a topology test is never skipped silently, on a laptop or in CI.
 */
export function describeWithTopology(title: string, body: () => void): void {
  if (hasRedisTools) return describe(title, body);
  describe(title, () =>
    it('needs redis-server and redis-cli', () => {
      throw new Error(
        'redis-server / redis-cli not found on this machine. Install them (Debian/Ubuntu: sudo apt-get install -y redis-server) and run the suite again.',
      );
    }),
  );
}

/** Replicas sync at once (the default diskless sync waits 5 s for more replicas). */
const FAST_SYNC = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One redis-server process (a cluster node, a data node of a Sentinel set, or a sentinel). */
class Node {
  process?: ChildProcess;
  constructor(
    readonly port: number,
    private readonly args: string[],
  ) {}

  async start(): Promise<void> {
    const child = spawn('redis-server', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process = child;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server on port ${this.port} did not start within 5 s:\n${out}`)), 5000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/Ready to accept connections|Sentinel ID is/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on port ${this.port} exited with ${code}:\n${out}`));
      });
    });
  }

  get alive(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** SIGKILL, like a crash; resolves once the process is gone. */
  async kill(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGCONT');
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }
}

/** Base of both topologies: a temp dir, a password, the processes, and redis-cli. */
abstract class Topology {
  /** `requirepass` / `masterauth` of every data node (parallel suites may reuse a port another suite just freed). */
  readonly password = randomBytes(12).toString('hex');
  protected readonly dir = mkdtempSync(join(tmpdir(), 'nti-redis-'));
  protected readonly nodes: Node[] = [];

  /** Runs redis-cli against a port (data nodes get the password); the trimmed output. */
  cli(port: number, ...args: string[]): string {
    const auth = this.nodes.some((n) => n.port === port && !this.isSentinel(n)) ? ['-a', this.password, '--no-auth-warning'] : [];
    const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, '--raw', ...args], { encoding: 'utf8', timeout: 5000 });
    return (r.stdout ?? '').trim();
  }

  /** Kills every process and removes the temp dir. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  protected isSentinel(_node: Node): boolean {
    return false;
  }

  protected node(port: number): Node {
    const node = this.nodes.find((n) => n.port === port);
    if (!node) throw new Error(`no node on port ${port}`);
    return node;
  }

  /** Polls `check` every 100 ms until it holds; throws with `what` after `withinMs`. */
  protected static async until(what: string, check: () => boolean, withinMs: number): Promise<void> {
    const end = Date.now() + withinMs;
    while (!check()) {
      if (Date.now() > end) throw new Error(`Redis topology: ${what} did not happen within ${withinMs} ms`);
      await sleep(100);
    }
  }
}

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

/**
 * `count` distinct free ports on 127.0.0.1. With `bus`, each port's cluster bus port (port + 10000) is free too, so
 * they are drawn from 20000–45000 (ephemeral ports plus 10000 may pass 65535).
 */
async function freePorts(count: number, bus = false): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = bus ? 20_000 + Math.floor(Math.random() * 25_000) : await listenable(0);
    if (ports.includes(port) || (bus && ports.includes(port + 10_000))) continue;
    if (bus && !((await listenable(port)) && (await listenable(port + 10_000)))) continue;
    ports.push(port);
  }
  return ports;
}

/** Listens on `port` (0: any) and closes again: the port listened on, 0 when it was taken. */
function listenable(port: number): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(0));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}
