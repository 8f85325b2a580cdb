/**
 * `npm run bench:chart`: throughput by status code and p99 latency over time while the authorization
 * server goes down (at 4 s) and comes back (at 8 s), under steady load against a guarded route
 * (cache TTL 1 s, fail-closed, default circuit breaker). Renders bench/results/outage.svg with
 * vega-lite (in Node, no browser) and writes the data beside it. Loopback only; stops by itself.
 *
 * Before and after (issue 18): bench/results/outage-before.json holds the same run against the
 * policy before issue 18 (breaker counting failed lookups after the retries), recorded by running
 * this script with `BENCH_OUTAGE_BASELINE=1` on that build; the chart shows it above the live run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { ChaosProxy } from '../test/support/chaos-proxy.js';

const here = dirname(fileURLToPath(import.meta.url));
const DOWN_AT = 4;
const UP_AT = 8;
const DURATION = 14;
const BUCKET_MS = 250;

const as = await EmbeddedAuthorizationServer.start();
const proxy = await ChaosProxy.start(as.issuer);
const child = spawn(process.execPath, [join(here, 'servers.js')], {
  env: {
    ...process.env,
    BENCH_ADAPTER: process.env.BENCH_ADAPTER ?? 'fastify',
    BENCH_INTROSPECTION_ENDPOINT: proxy.url('/token/introspection'),
    BENCH_CLIENT_ID: CLIENTS.basic.clientId,
    BENCH_CLIENT_SECRET: CLIENTS.basic.clientSecret,
    BENCH_CACHE_TTL_SECONDS: '1',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const ports = await new Promise<Record<string, number>>((resolve) =>
  child.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{"ready"')) resolve(JSON.parse(line).ports);
  }),
);
const token = await as.issueToken({ scope: 'read' });
const samples: Array<{ t: number; status: number; latency: number }> = [];
const started = performance.now();
setTimeout(() => void proxy.setMode('down'), DOWN_AT * 1000);
setTimeout(() => void proxy.setMode('ok'), UP_AT * 1000);
const instance = autocannon(
  { url: `http://127.0.0.1:${ports.guarded}/hello`, connections: 20, duration: DURATION, headers: { authorization: `Bearer ${token}` } },
  () => undefined,
);
instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  samples.push({ t: performance.now() - started, status: statusCode, latency: responseTime });
});
await new Promise((resolve) => instance.on('done', resolve));
child.kill('SIGKILL');
await proxy.stop();
await as.stop();

// Aggregate per bucket.
const buckets = new Map<number, { counts: Record<string, number>; latencies: number[] }>();
for (const s of samples) {
  const b = Math.floor(s.t / BUCKET_MS);
  const bucket = buckets.get(b) ?? { counts: {}, latencies: [] };
  const label = s.status === 200 ? '200 OK' : s.status === 503 ? '503 + Retry-After' : String(s.status);
  bucket.counts[label] = (bucket.counts[label] ?? 0) + 1;
  bucket.latencies.push(s.latency);
  buckets.set(b, bucket);
}
const throughput: Array<{ time: number; status: string; rps: number }> = [];
const latency: Array<{ time: number; p99: number }> = [];
for (const [b, { counts, latencies }] of [...buckets].sort((x, y) => x[0] - y[0])) {
  const time = (b * BUCKET_MS) / 1000;
  for (const [status, n] of Object.entries(counts)) throughput.push({ time, status, rps: (n * 1000) / BUCKET_MS });
  latencies.sort((x, y) => x - y);
  latency.push({ time, p99: Math.max(0.1, latencies[Math.floor(latencies.length * 0.99)] ?? 0) });
}
// Breaker reaction: from the start of the first request that stalled (a slow 503) to the first fast 503 (circuit open).
const after503 = samples.filter((x) => x.status === 503 && x.t >= DOWN_AT * 1000);
const firstFast = after503.find((x) => x.latency < 50);
const stallStart = Math.min(...after503.map((x) => x.t - x.latency));
const reactionMs = firstFast ? Math.round(firstFast.t - stallStart) : undefined;
const events = [
  { time: DOWN_AT, label: 'AS down' },
  { time: UP_AT, label: 'AS back' },
];
const rules = {
  data: { values: events },
  layer: [
    { mark: { type: 'rule', strokeDash: [4, 4], color: '#555' }, encoding: { x: { field: 'time', type: 'quantitative' } } },
    {
      mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555' },
      encoding: { x: { field: 'time', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
    },
  ],
};
const out = join(here, '..', '..', 'bench', 'results');
mkdirSync(out, { recursive: true });
const data = { date: new Date().toISOString(), reactionMs, throughput, latency, events };
const by = (status: string) => samples.filter((s) => (status === '200' ? s.status === 200 : s.status === Number(status))).length;
const summary = `${samples.length} responses (${by('200')} × 200, ${by('503')} × 503, ${by('401')} × 401), breaker reaction ${reactionMs ?? '?'} ms`;
if (process.env.BENCH_OUTAGE_BASELINE) {
  writeFileSync(join(out, 'outage-before.json'), JSON.stringify(data, null, 1) + '\n');
  console.log(`outage baseline: ${summary} → bench/results/outage-before.json`);
  process.exit(0);
}
type Run = typeof data;
const before = existsSync(join(out, 'outage-before.json')) ? (JSON.parse(readFileSync(join(out, 'outage-before.json'), 'utf8')) as Run) : undefined;
const panels = (run: Run, label: string) => [
  {
    width: 640,
    height: 170,
    title: { text: `${label}: breaker reaction ${run.reactionMs ?? '?'} ms of stalled requests`, fontSize: 12, anchor: 'start' as const },
    layer: [
      {
        data: { values: run.throughput },
        mark: { type: 'bar', width: 8, clip: true },
        encoding: {
          x: { field: 'time', type: 'quantitative', title: 'time (s)', scale: { domain: [0, DURATION], nice: false } },
          y: { field: 'rps', type: 'quantitative', title: 'responses per second', stack: 'zero' },
          color: {
            field: 'status',
            type: 'nominal',
            title: 'status',
            scale: { domain: ['200 OK', '503 + Retry-After', '401'], range: ['#2e7d32', '#ef6c00', '#c62828'] },
          },
        },
      },
      rules as never,
    ],
  },
  {
    width: 640,
    height: 120,
    layer: [
      {
        data: { values: run.latency },
        mark: { type: 'line', point: true, color: '#1565c0' },
        encoding: {
          x: { field: 'time', type: 'quantitative', title: 'time (s)', scale: { domain: [0, DURATION], nice: false } },
          y: { field: 'p99', type: 'quantitative', title: 'p99 latency (ms, log)', scale: { type: 'log' } },
        },
      },
      rules as never,
    ],
  },
];
const spec: vl.TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: 'Guarded route under load while the authorization server goes down and comes back',
    subtitle: `nestjs-token-introspection · ${process.env.BENCH_ADAPTER ?? 'fastify'} · cache TTL 1 s · fail-closed · ${new Date().toISOString().slice(0, 10)}`,
  },
  vconcat: [
    ...(before ? panels(before, `Before (breaker counted failed lookups after retries; recorded ${before.date.slice(0, 10)})`) : []),
    ...panels(data, before ? 'After (breaker weighs attempts: refused / reset / silent 2, other AS trouble 1/3)' : 'This run'),
  ],
} as vl.TopLevelSpec;
const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
const svg = await view.toSVG();
writeFileSync(join(out, 'outage.svg'), svg);
writeFileSync(join(out, 'outage.json'), JSON.stringify(data, null, 1) + '\n');
console.log(`outage chart: ${summary}${before ? ` (before: ${before.reactionMs ?? '?'} ms)` : ''} → bench/results/outage.svg`);
process.exit(0);
