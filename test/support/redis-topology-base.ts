import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Replicas sync at once (the default diskless sync waits 5 s for more replicas). */
export const FAST_SYNC = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One redis-server process (a cluster node, a data node of a Sentinel set, or a sentinel). */
export class Node {
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
export abstract class Topology {
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
  static async until(what: string, check: () => boolean, withinMs: number): Promise<void> {
    const end = Date.now() + withinMs;
    while (!check()) {
      if (Date.now() > end) throw new Error(`Redis topology: ${what} did not happen within ${withinMs} ms`);
      await sleep(100);
    }
  }
}

/**
 * `count` distinct free ports on 127.0.0.1. With `bus`, each port's cluster bus port (port + 10000) is free too, so
 * they are drawn from 20000–45000 (ephemeral ports plus 10000 may pass 65535).
 */
export async function freePorts(count: number, bus = false): Promise<number[]> {
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
