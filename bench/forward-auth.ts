/**
 * Forward auth (issue 27), side by side in one run: a real nginx (Debian's) in front of a plain node service,
 *   - no auth: nginx → service;
 *   - library: nginx → decision sidecar (ForwardAuthModule over Fastify, cache hit) → service, with the shipped
 *     configuration (sample/forward-auth/forward-auth.nginx.conf: keep-alive to the sidecar);
 *   - naive: nginx → a decision handler that introspects every request → service, the same configuration;
 * autocannon on 127.0.0.1 (this process), the servers in a child process (bench/forward-auth-servers.ts), each nginx
 * with one worker. Interleaved rounds, medians of req/s and latency, ratios to the no-auth row. Then 1 new token ×
 * 1,000 concurrent requests through nginx → the AS introspection calls (must be 1).
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { freePort } from '../test/support/free-port.js';
import { forwardAuthNginxConf, hasNginx, NGINX_INSTALL, TestNginx } from '../test/support/nginx.js';

type Row = [string, string, string];
const here = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** nginx → service, no auth: the same keep-alive upstream as the shipped configuration. */
function noAuthConf(listen: number, upstream: number): string {
  return `upstream protected_service { server 127.0.0.1:${upstream}; keepalive 32; }
server {
  listen 127.0.0.1:${listen};
  location / { proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://protected_service; }
}
`;
}

async function children(as: EmbeddedAuthorizationServer) {
  const child = spawn(process.execPath, [join(here, 'forward-auth-servers.js')], {
    env: {
      ...process.env,
      BENCH_INTROSPECTION_ENDPOINT: as.introspectionEndpoint,
      BENCH_CLIENT_ID: CLIENTS.basic.clientId,
      BENCH_CLIENT_SECRET: CLIENTS.basic.clientSecret,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ports = await new Promise<{ upstream: number; library: number; naive: number }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.startsWith('{"ready"')) resolve(JSON.parse(line).ports);
    });
    child.once('exit', (code) => reject(new Error(`forward-auth bench servers exited with ${code}`)));
  });
  return { ports, stop: () => child.kill('SIGKILL') };
}

function load(url: string, token: string, seconds: number, connections: number) {
  return new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, headers: { authorization: `Bearer ${token}` } }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

/** Resolves once `count()` has not changed for 1 s (at most 30 s). */
async function quiet(count: () => number): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = count();
  let since = Date.now();
  while (Date.now() - since < 1000 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (count() !== last) [last, since] = [count(), Date.now()];
  }
}

function get(url: string, agent: Agent, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
    req.end();
  });
}

/** The forward-auth rows and their figures; `rounds` interleaved rounds of `seconds` each, `connections` at once. */
export async function forwardAuthRows(options: {
  rounds: number;
  seconds: number;
  connections: number;
}): Promise<{ rows: Row[]; results: Record<string, unknown> }> {
  if (!hasNginx) {
    return { rows: [['forward auth through nginx', `skipped: nginx not found (${NGINX_INSTALL})`, '']], results: { skipped: 'no nginx' } };
  }
  const as = await EmbeddedAuthorizationServer.start();
  const servers = await children(as);
  const nginxes: TestNginx[] = [];
  try {
    const { upstream, library, naive } = servers.ports;
    const start = async (conf: (port: number) => string) => {
      const port = await freePort();
      const nginx = await TestNginx.start(conf(port), port);
      nginxes.push(nginx);
      return `${nginx.url}/orders`;
    };
    const targets = {
      none: await start((listen) => noAuthConf(listen, upstream)),
      library: await start((listen) => forwardAuthNginxConf({ listen, decision: library, upstream })),
      naive: await start((listen) => forwardAuthNginxConf({ listen, decision: naive, upstream })),
    };
    const token = await as.issueToken({ scope: 'read' });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    for (const url of Object.values(targets)) if ((await get(url, agent, token)) !== 200) throw new Error(`${url}: not 200 with a valid token`);
    agent.destroy();

    const names = ['none', 'library', 'naive'] as const;
    const rps: Record<(typeof names)[number], number[]> = { none: [], library: [], naive: [] };
    const p50: Record<(typeof names)[number], number[]> = { none: [], library: [], naive: [] };
    const p99: Record<(typeof names)[number], number[]> = { none: [], library: [], naive: [] };
    let naiveAsCalls = 0;
    let naiveRequests = 0;
    for (let round = 0; round < options.rounds; round++) {
      for (const name of names) {
        const before = as.introspectionRequests;
        const result = await load(targets[name], token, options.seconds, options.connections);
        if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
        rps[name].push(result.requests.average);
        p50[name].push(result.latency.p50);
        p99[name].push(result.latency.p99);
        if (name === 'naive') {
          naiveAsCalls += as.introspectionRequests - before;
          naiveRequests += result.requests.total;
        }
      }
    }

    // 1 new token × 1,000 concurrent requests through nginx and the library's sidecar. First the AS goes quiet: requests
    // that autocannon abandoned at the end of the naive round are still being decided by nginx and the naive sidecar,
    // and their introspections (up to one per connection) would be counted as the burst's.
    await quiet(() => as.introspectionRequests);
    const fresh = await as.issueToken({ scope: 'read' });
    const before = as.introspectionRequests;
    const burst = new Agent({ keepAlive: true, maxSockets: 128 });
    const statuses = await Promise.all(Array.from({ length: 1000 }, () => get(targets.library, burst, fresh)));
    burst.destroy();
    const burstCalls = as.introspectionRequests - before;
    const ok = statuses.filter((s) => s === 200).length;

    const base = median(rps.none);
    const line = (name: (typeof names)[number]) =>
      `${Math.round(median(rps[name])).toLocaleString('en')} req/s (${(median(rps[name]) / base).toFixed(2)}× no auth), p50 ${median(p50[name])} ms, p99 ${median(p99[name])} ms`;
    const label = `${options.connections} connections, ${options.rounds} × ${options.seconds} s interleaved, medians`;
    const rows: Row[] = [
      [`forward auth: nginx → service, no auth (${label})`, line('none'), ''],
      ['forward auth: nginx → sidecar (library, cache hit) → service', line('library'), `${(median(rps.library) / median(rps.naive)).toFixed(1)}× naive`],
      [
        'forward auth: nginx → sidecar (naive: introspects every request) → service',
        line('naive'),
        `${naiveAsCalls.toLocaleString('en')} AS calls for ${naiveRequests.toLocaleString('en')} requests`,
      ],
      [
        'forward auth: 1 new token × 1,000 concurrent requests through nginx',
        `${burstCalls} AS introspection call${burstCalls === 1 ? '' : 's'} (${ok} × 200)`,
        burstCalls === 1 ? '' : 'EXPECTED 1',
      ],
    ];
    const figures = (name: (typeof names)[number]) => ({ rps: median(rps[name]), p50: median(p50[name]), p99: median(p99[name]) });
    return {
      rows,
      results: {
        noAuth: figures('none'),
        library: figures('library'),
        naive: figures('naive'),
        naiveAsCalls,
        naiveRequests,
        burstAsCalls: burstCalls,
        burstOk: ok,
      },
    };
  } finally {
    for (const nginx of nginxes) await nginx.stop();
    servers.stop();
    await as.stop();
  }
}
