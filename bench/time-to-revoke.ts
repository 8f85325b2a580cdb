/**
 * `npm run bench:revoke` — time-to-revoke per mechanism (issue 16): the time from a revocation at the
 * authorization server to the first 401 at the API, on one replica and on two replicas sharing a Redis.
 *
 * Real parts only, all on 127.0.0.1: the embedded oidc-provider (tokens issued, introspected and revoked
 * for real), a redis-server started here when the binary is installed, and real Nest HTTP apps (Express),
 * each kept busy by its own client loop (~`RATE` requests/s per replica with one hot token). For each
 * mechanism and topology, `PHASES.length` runs revoke a fresh token at a different phase of its cache
 * entry's life (stratified over the TTL), so the figures cover the TTL's phase instead of one lucky moment.
 * For two replicas the time is until *both* answer 401. Also reported: AS introspection calls per second
 * while the token was hot (what the mechanism costs).
 *
 * Prints a markdown table and writes bench/results/time-to-revoke.json. Bounded: well under 2 minutes.
 *
 * Adding a mechanism (SSF push, back-channel logout — TODO rows below): give it `options` (module options /
 * extras it needs) and `notify` (what the transmitter does after revoking at the AS, e.g. POST a SET to replica A).
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Logger, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { IntrospectionModule, type IntrospectionModuleOptions } from '../lib/index.js';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { hasRedis, TestRedis } from '../test/support/redis-server.js';

Logger.overrideLogger(false);
const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Cache TTL of every row, seconds: TTL-only rows take about this long per run. */
const TTL_SECONDS = 3;
/** Requests per second each replica's client sends with the hot token. */
const RATE = 50;
/** Adaptive re-check fraction of the re-check rows. */
const RECHECK_FRACTION = 0.05;
/** Phases of the entry's life (fraction of the TTL after the warm-up fetch) at which the token is revoked. */
const PHASES = [1 / 6, 1 / 2, 5 / 6];
/** Give up on one run after this long (a mechanism that does not revoke shows as "> limit"). */
const LIMIT_MS = TTL_SECONDS * 1000 + 2000;
const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';

/** What a run knows when a mechanism is notified. */
interface RunContext {
  token: string;
  /** Base URLs of the replicas (the first one receives pushes). */
  replicas: readonly string[];
}

/** One way revocations reach the API. */
interface Mechanism {
  name: string;
  /** What the row's parameters are, for the table. */
  settings: string;
  /** Cache options beside `ttlSeconds` and the shared store. */
  cache?: Record<string, unknown>;
  /** Module extras (e.g. the webhook route), per topology. */
  extras?: (replicas: 1 | 2) => { revocationWebhook?: { path: string; scope?: 'this-replica' } };
  /** Module options beside the cache. */
  options?: Partial<IntrospectionModuleOptions>;
  /** After the AS revoked the token: what a transmitter would send (nothing for pull-only mechanisms). */
  notify?: (run: RunContext) => Promise<void>;
  /** Not measurable yet: why (printed instead of figures). */
  pending?: string;
}

const MECHANISMS: Mechanism[] = [
  { name: 'TTL only', settings: `ttl ${TTL_SECONDS} s, no refresh, no re-check`, cache: { revalidation: { refreshAheadWindow: 0 } } },
  {
    name: 'refresh-ahead',
    settings: `ttl ${TTL_SECONDS} s, window 0.2 (default)`,
    cache: { revalidation: { refreshAheadWindow: 0.2 } },
  },
  {
    name: 'adaptive re-check',
    settings: `ttl ${TTL_SECONDS} s, p = ${RECHECK_FRACTION}, r ≈ ${RATE}/s per replica`,
    cache: { revalidation: { refreshAheadWindow: 0, recheckFraction: RECHECK_FRACTION } },
  },
  {
    name: 'webhook (lib/revocation)',
    settings: `ttl ${TTL_SECONDS} s, POST { token } to replica A`,
    cache: { revalidation: { refreshAheadWindow: 0 } },
    // One replica on the in-memory cache: the webhook says it reaches only this replica (no broadcast needed).
    extras: (replicas) => ({ revocationWebhook: { path: 'internal/revocations', ...(replicas === 1 ? { scope: 'this-replica' as const } : {}) } }),
    options: { revocationWebhookSecret: WEBHOOK_SECRET },
    notify: async ({ token, replicas }) => {
      const res = await fetch(`${replicas[0]}/internal/revocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WEBHOOK_SECRET}` },
        body: JSON.stringify({ token }),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    },
  },
  // TODO(issue 16 part 1): SSF push (RFC 8935) — options: the receiver route + transmitter JWKS; notify: sign a CAEP
  // session-revoked / token-claims-change SET with the transmitter key and POST it (application/secevent+jwt) to replica A.
  { name: 'SSF push (RFC 8935)', settings: '—', pending: 'not yet measured (receiver built in another branch)' },
  // TODO(issue 16 part 1): back-channel logout — options: the logout route + the AS as issuer; notify: let oidc-provider
  // send the logout token itself (end the session / `backchannelLogout` with sid/sub) to replica A.
  { name: 'back-channel logout', settings: '—', pending: 'not yet measured (receiver built in another branch)' },
];

@Controller('api')
class ApiController {
  @Get()
  get() {
    return { ok: true };
  }
}

async function startReplica(as: EmbeddedAuthorizationServer, mechanism: Mechanism, redisUrl: string | undefined, keyPrefix: string) {
  const module = IntrospectionModule.forRootAsync({
    ...(mechanism.extras?.(redisUrl ? 2 : 1) ?? {}),
    useFactory: (): IntrospectionModuleOptions => ({
      introspectionEndpoint: as.introspectionEndpoint,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      metrics: false,
      resilience: { retries: 0 },
      cache: { ttlSeconds: TTL_SECONDS, ...(redisUrl ? { redis: redisUrl, keyPrefix } : {}), ...(mechanism.cache ?? {}) },
      ...(mechanism.options ?? {}),
    }),
  });
  @Module({ imports: [module], controllers: [ApiController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

/** One client loop per replica: about RATE requests/s; resolves to the time of its first 401 (epoch ms). */
function busyClient(url: string, token: string, stop: { done: boolean }, sent: { count: number }): Promise<number | undefined> {
  return (async () => {
    const period = 1000 / RATE;
    while (!stop.done) {
      const started = Date.now();
      const res = await fetch(`${url}/api`, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      sent.count++;
      if (res.status === 401) return Date.now();
      if (res.status !== 200) throw new Error(`unexpected ${res.status} from ${url}`);
      await sleep(Math.max(0, period - (Date.now() - started)));
    }
    return undefined;
  })();
}

interface RunResult {
  phase: number;
  /** Until every replica answered 401, ms (undefined: not within LIMIT_MS). */
  ms?: number;
  perReplicaMs: Array<number | undefined>;
  /** AS introspection calls per second while the token was hot (before the revocation). */
  asCallsPerSecond: number;
  /** Requests per second each replica's client achieved (the r of the re-check formula). */
  requestsPerSecondPerReplica: number;
}

async function measure(as: EmbeddedAuthorizationServer, replicas: readonly string[], mechanism: Mechanism, phase: number): Promise<RunResult> {
  const token = await as.issueToken({ scope: 'read' });
  const stop = { done: false };
  // Warm-up: the first request fetches the entry (one replica first, as real traffic would start somewhere).
  for (const url of replicas) {
    const res = await fetch(`${url}/api`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
  }
  const countedFrom = Date.now();
  const callsBefore = as.introspectionRequests;
  const sent = { count: 0 };
  const clients = replicas.map((url) => busyClient(url, token, stop, sent));
  await sleep(phase * TTL_SECONDS * 1000);
  const asCallsPerSecond = (as.introspectionRequests - callsBefore) / ((Date.now() - countedFrom) / 1000);
  await as.revoke(token);
  const revokedAt = Date.now();
  await mechanism.notify?.({ token, replicas });
  const timer = sleep(LIMIT_MS).then(() => (stop.done = true));
  const seen = await Promise.all(clients);
  stop.done = true;
  void timer;
  const requestsPerSecondPerReplica = sent.count / replicas.length / ((Date.now() - countedFrom) / 1000);
  const perReplicaMs = seen.map((at) => (at === undefined ? undefined : at - revokedAt));
  const ms = perReplicaMs.some((t) => t === undefined) ? undefined : Math.max(...(perReplicaMs as number[]));
  return { phase, ms, perReplicaMs, asCallsPerSecond, requestsPerSecondPerReplica };
}

interface Row {
  mechanism: string;
  settings: string;
  replicas: 1 | 2;
  runs?: RunResult[];
  pending?: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  const as = await EmbeddedAuthorizationServer.start();
  const redis = hasRedis ? await TestRedis.start() : undefined;
  if (!redis) console.warn('redis-server not found (apt-get install redis-server): the two-replica rows are skipped.');
  const rows: Row[] = [];
  try {
    for (const mechanism of MECHANISMS) {
      for (const count of [1, 2] as const) {
        if (mechanism.pending) {
          rows.push({ mechanism: mechanism.name, settings: mechanism.settings, replicas: count, pending: mechanism.pending });
          continue;
        }
        if (count === 2 && !redis) {
          rows.push({ mechanism: mechanism.name, settings: mechanism.settings, replicas: count, pending: 'skipped: no redis-server' });
          continue;
        }
        const keyPrefix = `ttr-${rows.length}`;
        const apps: INestApplication[] = [];
        try {
          const urls: string[] = [];
          for (let i = 0; i < count; i++) {
            // One replica runs on its in-process cache; two share the Redis (entries, evictions by pub/sub).
            const replica = await startReplica(as, mechanism, count === 2 ? redis!.url : undefined, keyPrefix);
            apps.push(replica.app);
            urls.push(replica.url);
          }
          const runs: RunResult[] = [];
          for (const phase of PHASES) runs.push(await measure(as, urls, mechanism, phase));
          rows.push({ mechanism: mechanism.name, settings: mechanism.settings, replicas: count, runs });
          process.stderr.write(`${mechanism.name}, ${count} replica(s): ${runs.map((r) => r.ms ?? 'none').join(' / ')} ms\n`);
        } finally {
          for (const app of apps) await app.close();
        }
      }
    }
  } finally {
    await redis?.kill();
    await as.stop();
  }

  const fmt = (ms: number | undefined) => (ms === undefined ? `> ${LIMIT_MS}` : String(Math.round(ms)));
  const lines = [
    '| Mechanism | Settings | Replicas | Time to revoke, ms (median / max over phases) | Each run, ms | AS calls/s (hot token) | Requests/s per replica |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    if (!row.runs) {
      lines.push(`| ${row.mechanism} | ${row.settings} | ${row.replicas} | ${row.pending} | — | — | — |`);
      continue;
    }
    const times = row.runs.map((r) => r.ms ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    const max = times[times.length - 1];
    const each = row.runs.map((r) => fmt(r.ms)).join(' / ');
    const calls = row.runs.reduce((total, r) => total + r.asCallsPerSecond, 0) / row.runs.length;
    const rate = row.runs.reduce((total, r) => total + r.requestsPerSecondPerReplica, 0) / row.runs.length;
    lines.push(
      `| ${row.mechanism} | ${row.settings} | ${row.replicas} | ${fmt(Number.isFinite(median) ? median : undefined)} / ${fmt(Number.isFinite(max) ? max : undefined)} | ${each} | ${calls.toFixed(2)} | ${rate.toFixed(0)} |`,
    );
  }
  const table = lines.join('\n');
  console.log(table);
  console.log(
    `\nRevocation at phases ${PHASES.map((p) => p.toFixed(2)).join(', ')} of a ${TTL_SECONDS} s entry; ~${RATE} requests/s per replica; ` +
      `two replicas: until both answer 401. Whole run: ${((Date.now() - started) / 1000).toFixed(1)} s.`,
  );
  const out = join(here, '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'time-to-revoke.json'),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        parameters: { ttlSeconds: TTL_SECONDS, ratePerReplica: RATE, recheckFraction: RECHECK_FRACTION, phases: PHASES, limitMs: LIMIT_MS },
        rows,
        table,
      },
      null,
      2,
    ),
  );
}

await main();
process.exit(0);
