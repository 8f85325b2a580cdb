/**
 * Engine benchmarks: everything measured side by side in one run (the machines are shared and noisy,
 * so compare the ratios, not absolute numbers across runs). Real oidc-provider on 127.0.0.1; bounded
 * in count and time. `npm run bench` (add `-- --quick` for a smoke run).
 * Prints a table and writes bench/results/engine.json.
 */
import 'reflect-metadata';
import { hash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import { IntrospectionModule, IntrospectionService, type IntrospectionModuleOptions } from '../lib/index.js';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { FaultyServer, behave } from '../test/support/faulty-server.js';

const quick = process.argv.includes('--quick');
const N = quick ? 20_000 : 100_000;
Logger.overrideLogger(false);

async function engine(options: IntrospectionModuleOptions) {
  @Module({ imports: [IntrospectionModule.forRoot(options)] })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  return { service: app.get(IntrospectionService), close: () => app.close() };
}

async function perCallMicros(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(n, 10_000); i++) await fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const rows: Array<[string, string]> = [];
  const results: Record<string, number> = {};
  const as = await EmbeddedAuthorizationServer.start();
  const { service, close } = await engine({ introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic });
  try {
    // 1. Cache hit vs its floor: the SHA-256 of the key alone, and a bare Map lookup behind an await.
    const token = await as.issueToken({ scope: 'read write' });
    await service.introspect(token);
    const map = new Map([[token, { active: true }]]);
    const hitUs = await perCallMicros(N, () => service.introspect(token));
    const hashUs = await perCallMicros(N, () => hash('sha256', `ns\u0000${token}`, 'base64url'));
    const mapUs = await perCallMicros(N, async () => map.get(token));
    results.cacheHitMicros = hitUs;
    rows.push([`cache hit, ${N.toLocaleString('en')} calls`, `${hitUs.toFixed(2)} µs/call`]);
    rows.push(['  floor: SHA-256 of the key', `${hashUs.toFixed(2)} µs/call`]);
    rows.push(['  floor: awaited Map lookup', `${mapUs.toFixed(2)} µs/call`]);

    // 2. Cache miss: one full introspection round trip to the real AS, vs the raw HTTP round trip.
    const misses: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < (quick ? 50 : 300); i++) {
      const fresh = await as.issueToken({ scope: 'read' });
      let t0 = performance.now();
      await service.introspect(fresh);
      misses.push(performance.now() - t0);
      t0 = performance.now();
      await fetch(as.introspectionEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${CLIENTS.basic.clientId}:${CLIENTS.basic.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: fresh }),
      }).then((r) => r.text());
      raw.push(performance.now() - t0);
    }
    misses.sort((a, b) => a - b);
    raw.sort((a, b) => a - b);
    results.missP50Ms = percentile(misses, 50);
    results.rawRoundTripP50Ms = percentile(raw, 50);
    rows.push(['cache miss (real AS), p50', `${results.missP50Ms.toFixed(2)} ms (raw fetch round trip p50 ${results.rawRoundTripP50Ms.toFixed(2)} ms)`]);

    // 3. Single-flight: 200 concurrent lookups of one new token.
    const burst = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    await Promise.all(Array.from({ length: 200 }, () => service.introspect(burst)));
    results.asCallsFor200Concurrent = as.introspectionRequests;
    rows.push(['200 concurrent lookups of one new token', `${as.introspectionRequests} AS call(s)`]);
  } finally {
    await close();
    await as.stop();
  }

  // 4. Breaker open: rejection latency without touching the network.
  const down = await FaultyServer.start(behave.status(503));
  const failing = await engine({
    introspectionEndpoint: down.url,
    allowInsecureRequests: true,
    ...CLIENTS.basic,
    resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 5, halfOpenAfterMs: 60_000 } },
  });
  try {
    for (let i = 0; i < 5; i++) await failing.service.introspect(`t${i}`).catch(() => undefined);
    const calls = down.requests;
    const lat: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      await failing.service.introspect(`open-${i}`).catch(() => undefined);
      lat.push(performance.now() - t0);
    }
    lat.sort((a, b) => a - b);
    results.breakerOpenP50Ms = percentile(lat, 50);
    results.breakerOpenP99Ms = percentile(lat, 99);
    rows.push([
      'rejection with breaker open (1,000 calls)',
      `p50 ${results.breakerOpenP50Ms.toFixed(3)} ms, p99 ${results.breakerOpenP99Ms.toFixed(3)} ms, AS calls while open: ${down.requests - calls}`,
    ]);
  } finally {
    await failing.close();
    await down.stop();
  }

  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nnestjs-token-introspection engine bench — ${new Date().toISOString()} — node ${process.version}${quick ? ' (quick)' : ''}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'engine.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, quick, results }, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
