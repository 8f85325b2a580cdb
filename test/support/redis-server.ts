import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { requires } from './requires.js';

/** Whether a `redis-server` binary is on this machine (CI installs it; see .ci/run). */
export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

/** `describe` / `it` for suites that need a real Redis: skipped and reported where it is missing, failed with `CI=true`. */
export const { describe: describeWithRedis, it: itWithRedis } = requires('redis-server', hasRedis, 'Debian/Ubuntu: sudo apt-get install -y redis-server');

/** A real redis-server on 127.0.0.1 and a free port, without persistence; killable and restartable. */
export class TestRedis {
  private process?: ChildProcess;
  private constructor(readonly port: number) {}

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort());
    await redis.launch();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
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
    const result = spawnSync('redis-cli', ['-p', String(this.port), '--raw', ...args], { encoding: 'utf8' });
    return result.stdout;
  }

  private async launch(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start within 5 s')), 5000);
      child.stdout!.on('data', (chunk: Buffer) => {
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
