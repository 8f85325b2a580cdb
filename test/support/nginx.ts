import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

// No Jest import here: the sample and the bench start nginx with this file too (the `describe` wrapper is
// test/support/nginx-required.ts).

/** The nginx binary: `NGINX_BIN`, else `nginx` on the PATH, else Debian's /usr/sbin/nginx (not on a non-root PATH). */
export const nginxBinary: string = process.env.NGINX_BIN ?? (spawnSync('nginx', ['-v']).status === 0 ? 'nginx' : '/usr/sbin/nginx');

/** Whether nginx with the `auth_request` module is on this machine (CI installs Debian's package; see .ci/run). */
export const hasNginx: boolean = (() => {
  const probe = spawnSync(nginxBinary, ['-V'], { encoding: 'utf8' });
  return probe.status === 0 && `${probe.stderr}${probe.stdout}`.includes('http_auth_request_module');
})();

/** How to get nginx where it is missing. */
export const NGINX_INSTALL = 'Debian/Ubuntu: sudo apt-get install -y nginx (it has the auth_request module)';

/** The shipped forward-auth configuration (an http{} context file): the one file the tests, the sample and the bench load. */
export const FORWARD_AUTH_NGINX_CONF = join(repositoryRoot(), 'sample', 'forward-auth', 'forward-auth.nginx.conf');

/** The three addresses written in the shipped configuration, which the tests and the sample replace by their own. */
export const FORWARD_AUTH_DEFAULT_ADDRESSES = { listen: '127.0.0.1:8080', decision: '127.0.0.1:3001', upstream: '127.0.0.1:8000' } as const;

/**
 * The shipped configuration with its three addresses replaced (ports on 127.0.0.1): nothing else changes. Throws when
 * an address is not in the file (the file and this function drifted apart).
 */
export function forwardAuthNginxConf(ports: { listen: number; decision: number; upstream: number }): string {
  let conf = readFileSync(FORWARD_AUTH_NGINX_CONF, 'utf8');
  for (const key of ['listen', 'decision', 'upstream'] as const) {
    const address = FORWARD_AUTH_DEFAULT_ADDRESSES[key];
    if (!conf.includes(address)) throw new Error(`${FORWARD_AUTH_NGINX_CONF} no longer contains ${address} (${key})`);
    conf = conf.split(address).join(`127.0.0.1:${ports[key]}`);
  }
  return conf;
}

/**
 * A real nginx (`daemon off`, one worker) started from an http{} context text, its pid file, logs and every temp
 * path in its own temp directory (so it runs as any user and leaves nothing behind), its error log on stderr
 * (kept in `errors` for a failing test to show). `stop()` ends it and removes the directory.
 */
export class TestNginx {
  /** nginx's error log so far (stderr). */
  errors = '';
  private constructor(
    private readonly child: ChildProcess,
    /** The temp directory with nginx.conf, the pid file, temp paths and access.log. */
    readonly dir: string,
    /** The port of the (first) server, on 127.0.0.1. */
    readonly port: number,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => (this.errors += chunk.toString()));
  }

  /** http://127.0.0.1:<port> */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts nginx with `httpContext` (for instance `forwardAuthNginxConf(...)`) listening on `port`; resolves once it accepts connections. */
  static async start(httpContext: string, port: number, options: { workerConnections?: number } = {}): Promise<TestNginx> {
    if (!hasNginx) throw new Error(`nginx with auth_request not found (${nginxBinary}). Install it: ${NGINX_INSTALL}`);
    const dir = mkdtempSync(join(tmpdir(), 'nti-nginx-'));
    // A root master runs its worker as `nobody`: it must reach the temp paths.
    chmodSync(dir, 0o755);
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      mkdirSync(join(dir, sub));
      chmodSync(join(dir, sub), 0o777);
    }
    writeFileSync(join(dir, 'site.conf'), httpContext);
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'worker_processes 1;',
        `events { worker_connections ${options.workerConnections ?? 2048}; }`,
        'http {',
        `  client_body_temp_path ${join(dir, 'client_body')};`,
        `  proxy_temp_path ${join(dir, 'proxy')};`,
        `  fastcgi_temp_path ${join(dir, 'fastcgi')};`,
        `  uwsgi_temp_path ${join(dir, 'uwsgi')};`,
        `  scgi_temp_path ${join(dir, 'scgi')};`,
        `  access_log ${join(dir, 'access.log')};`,
        `  include ${join(dir, 'site.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const child = spawn(
      nginxBinary,
      ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')}; error_log stderr notice;`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const nginx = new TestNginx(child, dir, port);
    try {
      await nginx.waitUntilListening();
    } catch (error) {
      await nginx.stop();
      throw new Error(`nginx did not start: ${(error as Error).message}\n${nginx.errors}`, { cause: error });
    }
    return nginx;
  }

  /** Stops nginx (SIGTERM, SIGKILL after 3 s) and removes its temp directory. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The access log so far (one line per request). */
  accessLog(): string {
    const path = join(this.dir, 'access.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  private async waitUntilListening(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`exited with ${this.child.exitCode ?? this.child.signalCode}`);
      if (await canConnect(this.port)) return;
      if (Date.now() > deadline) throw new Error('not listening within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Starts a real nginx in front of a decision endpoint and an upstream with the shipped configuration (a free port of its own). */
export async function startForwardAuthNginx(ports: { decision: number; upstream: number }): Promise<TestNginx> {
  const listen = await freePort();
  return TestNginx.start(forwardAuthNginxConf({ listen, ...ports }), listen);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The repository root, from this file (test/support/ in the sources, .build/test/support/ when compiled for the sample and the bench). */
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'tsconfig.build.json')) === false) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
  return dir;
}
