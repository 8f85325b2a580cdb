/**
 * The shared tier on a Redis Cluster and a Sentinel set next to a single node (issue 26): what a shared-tier hit and
 * a shared-tier miss cost per lookup, side by side in one run. Starts its own redis-server processes on 127.0.0.1
 * (the test fixtures' topologies: a single node, a cluster of 3 masters + 3 replicas, 1 master + 1 replica + 3
 * sentinels, all with a password) and stops them itself. No authorization server: entries are written through the
 * cache as a lookup would, then read back as a lookup does when its in-process tier misses (`localTtlSeconds: 0`).
 *
 * - hit: the entry is in Redis (GET + MGET of the tombstones in one round trip, open the seal, the claim checks);
 * - miss: nothing there (the same round trip; the AS call that follows is the same on every topology, not counted).
 *
 * Measured one at a time (the round trip) and 32 at once (µs per lookup = wall ÷ lookups: what a busy replica pays).
 * Rounds are interleaved across topologies; medians. `npm run bench -- --redis` runs only this.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { IntrospectionCache } from '../lib/cache/introspection.cache.js';
import { validateClaims } from '../lib/client/introspection-response.js';
import { INTROSPECTION_CACHE } from '../lib/introspection.constants.js';
import { IntrospectionModule, type IntrospectionCacheOptions } from '../lib/index.js';
import type { ActiveIntrospectionResult } from '../lib/interfaces/introspection-result.interface.js';
import { TestRedisCluster } from '../test/support/redis-cluster.js';
import { TestRedisSentinel } from '../test/support/redis-sentinel.js';
import { FAST_SYNC, freePorts, Node, Topology } from '../test/support/redis-topology-base.js';

type Row = [string, string, string];
type Kind = 'node' | 'cluster' | 'sentinel';
const KINDS: readonly Kind[] = ['node', 'cluster', 'sentinel'];
const LABEL: Record<Kind, string> = { node: 'single node', cluster: 'Cluster (3+3)', sentinel: 'Sentinel (1+1, 3 sentinels)' };
/** Whether `redis-server` and `redis-cli` are installed (the topologies need both). */
export const hasRedisTools = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0;

/** A single redis-server with a password, like the cluster's and the Sentinel set's nodes. */
class SingleRedis extends Topology {
  static async start(): Promise<SingleRedis> {
    const redis = new SingleRedis();
    const [port] = await freePorts(1);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redis.dir, ...FAST_SYNC];
    redis.nodes.push(new Node(port, [...args, '--requirepass', redis.password]));
    try {
      await redis.nodes[0].start();
    } catch (error) {
      await redis.stop();
      throw error;
    }
    return redis;
  }

  get port(): number {
    return this.nodes[0].port;
  }

  get url(): string {
    return `redis://:${this.password}@127.0.0.1:${this.port}`;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with what was being waited for (each step is bounded: the bench never hangs on a topology). */
function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`bench --redis: ${what} took over ${ms} ms`)), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

async function cacheOn(redis: IntrospectionCacheOptions['redis']) {
  @Module({
    imports: [
      IntrospectionModule.forRoot({
        introspectionEndpoint: 'https://as.example.com/introspect',
        clientId: 'bench',
        clientSecret: 'bench-secret',
        verifyOnStartup: false,
        metrics: false,
        // No in-process tier: every lookup reads Redis (as one whose local copy aged out).
        // storeTimeoutMs 1 s: the bench measures the cost; lookups beyond the default 100 ms are counted instead of timed out.
        cache: { redis, keyPrefix: 'bench', localTtlSeconds: 0, storeTimeoutMs: 1000, indexSecret: 'bench-index-secret-0123456789' },
      }),
    ],
  })
  class RedisBench {}
  const app = await NestFactory.createApplicationContext(RedisBench, { logger: false });
  return { cache: app.get<IntrospectionCache>(INTROSPECTION_CACHE), close: () => app.close() };
}

const check = (response: Parameters<typeof validateClaims>[0], now: number) => validateClaims(response, { clockSkewSeconds: 5 }, now / 1000);

/** Writes `count` entries as lookups would (entry + index, one transaction) and waits until every one reads back. */
async function seed(cache: IntrospectionCache, count: number): Promise<string[]> {
  const now = Date.now();
  const tokens = Array.from({ length: count }, () => randomBytes(32).toString('base64url'));
  for (const [i, token] of tokens.entries()) {
    const response = {
      active: true as const,
      scope: 'read write',
      client_id: 'app',
      sub: `user-${i}`,
      // A session and a token id, as oidc-provider's answers carry: four index sets per entry.
      sid: randomBytes(16).toString('base64url'),
      jti: randomBytes(16).toString('base64url'),
      exp: Math.floor(now / 1000) + 3600,
      iat: Math.floor(now / 1000),
      iss: 'https://as.example.com',
      token_type: 'Bearer',
    };
    const key = cache.key(token);
    cache.storeActive(key, token, response, check(response, now) as ActiveIntrospectionResult, now, cache.openTicket(key));
  }
  for (let missing = tokens; missing.length > 0; await sleep(50)) {
    const found = await Promise.all(missing.map((t) => cache.readShared(cache.key(t), t, check)));
    missing = missing.filter((_, i) => found[i] === undefined);
  }
  return tokens;
}

interface Sample {
  /** Wall time ÷ lookups, µs. */
  micros: number;
  /** Per-lookup latencies, ms. */
  latencies: number[];
  /** Lookups whose outcome was not the expected one (a hit that missed: the read failed). */
  wrong: number;
}

/** `n` lookups, `parallel` at once, as a lookup whose in-process tier missed makes them (token-engine.ts). */
async function lookups(cache: IntrospectionCache, tokens: string[], n: number, parallel: number, hit: boolean): Promise<Sample> {
  let next = 0;
  let wrong = 0;
  const latencies: number[] = [];
  const worker = async () => {
    while (next < n) {
      const token = tokens[next++ % tokens.length];
      const t0 = performance.now();
      const record = cache.readLocalToken(token) ?? (await cache.readShared(cache.key(token), token, check));
      latencies.push(performance.now() - t0);
      if ((record !== undefined) !== hit) wrong++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: parallel }, worker));
  return { micros: Number(process.hrtime.bigint() - t0) / 1000 / n, latencies, wrong };
}

/** The rows of the comparison (and its figures for results), or one row saying why it did not run. */
export async function redisTopologyRows(quick: boolean): Promise<{ rows: Row[]; results?: Record<string, unknown> }> {
  const what = 'shared tier (Redis) on a Cluster and a Sentinel set next to a single node';
  if (quick) return { rows: [[what, 'skipped in --quick (CI budget): run `npm run bench -- --redis` (about 1 minute)', '']] };
  if (!hasRedisTools) return { rows: [[what, 'skipped: redis-server / redis-cli not found (Debian/Ubuntu: sudo apt-get install -y redis-server)', '']] };
  const ROUNDS = 5;
  const SEEDED = 200;
  const SERIAL = 1000;
  const PARALLEL = 4000;
  const topologies: Array<{ stop(): Promise<void> }> = [];
  const keep = <T extends { stop(): Promise<void> }>(t: T) => (topologies.push(t), t);
  // SIGKILLs the redis-servers (those started late too) even if the bench dies on the way; a no-op after stop().
  process.once('exit', () => void Promise.all(topologies.map((t) => t.stop())));
  const apps: Array<{ close(): Promise<unknown> }> = [];
  try {
    const [node, cluster, sentinel] = await within(
      'starting the topologies',
      60_000,
      Promise.all([SingleRedis.start().then(keep), TestRedisCluster.start().then(keep), TestRedisSentinel.start().then(keep)]),
    );
    const settings: Record<Kind, IntrospectionCacheOptions['redis']> = {
      node: node.url,
      cluster: { cluster: { rootNodes: cluster.rootNodes } },
      sentinel: { sentinel: { name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes, nodeClientOptions: { password: sentinel.password } } },
    };
    const caches = {} as Record<Kind, { cache: IntrospectionCache; tokens: string[]; misses: string[] }>;
    for (const kind of KINDS) {
      const app = await within(`connecting to the ${kind}`, 20_000, cacheOn(settings[kind]));
      apps.push(app);
      const tokens = await within(`seeding the ${kind}`, 20_000, seed(app.cache, SEEDED));
      caches[kind] = { cache: app.cache, tokens, misses: Array.from({ length: 200 }, () => randomBytes(32).toString('base64url')) };
    }
    const measures = ['hit, 1 at a time', 'miss, 1 at a time', 'hit, 32 at once', 'miss, 32 at once'] as const;
    type Measure = (typeof measures)[number];
    const samples = Object.fromEntries(KINDS.map((k) => [k, Object.fromEntries(measures.map((m) => [m, [] as Sample[]]))])) as Record<
      Kind,
      Record<Measure, Sample[]>
    >;
    const run = async (kind: Kind, m: Measure, record: boolean) => {
      const { cache, tokens, misses } = caches[kind];
      const hit = m.startsWith('hit');
      const [n, parallel] = m.includes('32') ? [PARALLEL, 32] : [SERIAL, 1];
      const sample = await within(`${m} on the ${kind}`, 30_000, lookups(cache, hit ? tokens : misses, n, parallel, hit));
      if (record) samples[kind][m].push(sample);
    };
    for (const kind of KINDS) for (const m of measures) await run(kind, m, false); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order each round: no topology always runs right after the same neighbour.
      for (let i = 0; i < KINDS.length; i++) for (const m of measures) await run(KINDS[(i + r) % KINDS.length], m, true);
    }
    const micros = (k: Kind, m: Measure) => median(samples[k][m].map((x) => x.micros));
    const all = (k: Kind, m: Measure) => samples[k][m].flatMap((x) => x.latencies).sort((a, b) => a - b);
    const p99 = (k: Kind, m: Measure) => all(k, m)[Math.floor(0.99 * (all(k, m).length - 1))];
    const slow = (k: Kind, m: Measure) => all(k, m).filter((ms) => ms > 100).length;
    const wrong = (k: Kind, m: Measure) => samples[k][m].reduce((sum, x) => sum + x.wrong, 0);
    const rows: Row[] = measures.map((m) => [
      `shared tier, ${m}: µs per lookup (p99 ms) — ${KINDS.map((k) => LABEL[k]).join(' | ')} (median of ${ROUNDS} interleaved rounds)`,
      KINDS.map((k) => `${micros(k, m).toFixed(0)} (${p99(k, m).toFixed(1)})`).join(' | '),
      `cluster ÷ node ${(micros('cluster', m) / micros('node', m)).toFixed(2)}; sentinel ÷ node ${(micros('sentinel', m) / micros('node', m)).toFixed(2)}` +
        `; over 100 ms: ${KINDS.map((k) => slow(k, m)).join(' | ')}${KINDS.some((k) => wrong(k, m)) ? `; NOT ${m.split(',')[0]}s: ${KINDS.map((k) => wrong(k, m)).join(' | ')}` : ''}`,
    ]);
    const results = Object.fromEntries(
      KINDS.map((k) => [
        k,
        Object.fromEntries(
          measures.map((m) => [
            m,
            { microsPerLookup: micros(k, m), p99Ms: p99(k, m), over100Ms: slow(k, m), wrong: wrong(k, m), rounds: samples[k][m].map((x) => x.micros) },
          ]),
        ),
      ]),
    );
    // Redis's MEMORY USAGE of the seeded entries alone, and of every key of the service (index sets included), per entry.
    const usage = (pattern: string) =>
      Number(
        node.cli(
          node.port,
          'EVAL',
          "local t = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do t = t + redis.call('MEMORY', 'USAGE', k) end return t",
          '0',
          pattern,
        ),
      ) / SEEDED;
    const [entryBytes, withIndex] = [usage('bench::*'), usage('bench*')];
    rows.push([
      `Redis memory per shared entry (MEMORY USAGE, ${SEEDED} entries with sub, client_id, sid, jti; single node): entry alone | with its index entries`,
      `${entryBytes.toFixed(0)} B | ${withIndex.toFixed(0)} B`,
      '',
    ]);
    return {
      rows,
      results: { memoryPerEntry: { entryBytes, withIndex }, lookupsPerRound: { serial: SERIAL, parallel: PARALLEL }, rounds: ROUNDS, ...results },
    };
  } finally {
    for (const app of apps) await app.close().catch(() => undefined);
    await Promise.all(topologies.map((t) => t.stop()));
  }
}
