import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { requires } from './requires.js';

/** Whether a `redis-server` binary is on this machine (CI installs it; see .ci/run). */
export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

/** `describe` / `it` for suites that need a real Redis: skipped and reported where it is missing, failed with `CI=true`. */
export const { describe: describeWithRedis, it: itWithRedis } = requires('redis-server', hasRedis, 'Debian/Ubuntu: sudo apt-get install -y redis-server');

/**
 * A real redis-server on 127.0.0.1 and a free port, without persistence; killable and restartable. Each instance
 * has its own random password: suites run in parallel workers, and a port freed by one suite's `kill()` can be
 * taken by another's server while the first suite's clients still reconnect to it — without the password they
 * cannot touch the other suite's data (its evictions, purges and replay records would be taken for its own).
 */
export class TestRedis {
  private process?: ChildProcess;
  /** The `requirepass` of this server (in `url`; `urlAt()` for a proxy in front of it). */
  readonly password = randomBytes(12).toString('hex');
  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return this.urlAt(this.port);
  }

  /** This server's URL (with its password) through something listening on `port` (a proxy in front of it). */
  urlAt(port: number): string {
    return `redis://:${this.password}@127.0.0.1:${port}`;
  }

  /** Kills the server at once (like a crash). */
  async kill(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    this.process = undefined;
    p.kill('SIGCONT'); // a frozen server must wake to die
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers — a hung Redis. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  /** Starts again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Runs redis-cli against this server (to inspect keys and values). */
  cli(...args: string[]): string {
    const result = spawnSync('redis-cli', ['-p', String(this.port), '-a', this.password, '--no-auth-warning', '--raw', ...args], { encoding: 'utf8' });
    return result.stdout;
  }

  private async launch(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', this.password],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start within 5 s')), 5000);
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}`));
      });
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
