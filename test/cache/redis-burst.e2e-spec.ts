/** Issue 26: a burst of new tokens on one replica leaves every entry and its index entries in Redis, on each topology. */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { capturedLogs, createEngine, sleep } from '../support/engine.js';
import { behave, FaultyServer } from '../support/faulty-server.js';
import { CollectingReader, sum } from '../support/metrics.js';
import { TestRedis } from '../support/redis-server.js';
import { describeWithTopology, TestRedisCluster, TestRedisSentinel } from '../support/redis-topology.js';

const BURST = 500;

/** A fake AS: every `tok-<n>` is active for subject `user-<n>` of client `app`. */
async function authorizationServer(): Promise<FaultyServer> {
  return FaultyServer.start((req, res, body) => {
    const token = new URLSearchParams(body).get('token') ?? '';
    const n = /^tok-(\d+)$/.exec(token)?.[1];
    const exp = Math.floor(Date.now() / 1000) + 600;
    return behave.json(n ? { active: true, sub: `user-${n}`, client_id: 'app', scope: 'read', exp } : { active: false })(req, res, body);
  });
}

type Topology = { name: string; redis: () => unknown; cli: (...args: string[]) => string; stop: () => Promise<void> };

const topologies: Array<[string, () => Promise<Topology>]> = [
  [
    'one node',
    async () => {
      const r = await TestRedis.start();
      return { name: 'node', redis: () => r.url, cli: (...a) => r.cli(...a).trim(), stop: () => r.kill() };
    },
  ],
  [
    'a cluster',
    async () => {
      const c = await TestRedisCluster.start();
      return {
        name: 'cluster',
        redis: () => ({ cluster: { rootNodes: c.rootNodes } }),
        cli: (...a) => c.cli(c.masterOf('{burst}'), ...a),
        stop: () => c.stop(),
      };
    },
  ],
  [
    'a Sentinel set',
    async () => {
      const s = await TestRedisSentinel.start();
      const sentinel = { name: s.name, sentinelRootNodes: s.sentinelRootNodes, nodeClientOptions: { password: s.password } };
      return { name: 'sentinel', redis: () => ({ sentinel }), cli: (...a) => s.cli(s.masterPort(), ...a), stop: () => s.stop() };
    },
  ],
];

for (const [title, start] of topologies) {
  describeWithTopology(`a burst of ${BURST} new tokens on ${title}`, () => {
    let topology: Topology;
    let as: FaultyServer;
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    beforeAll(async () => {
      topology = await start();
      as = await authorizationServer();
      process.on('warning', onWarning);
    }, 60_000);
    afterAll(async () => {
      process.off('warning', onWarning);
      await as?.stop();
      await topology?.stop();
    });

    it('leaves all entries and their index entries in Redis, without a MaxListenersExceededWarning', async () => {
      const engine = await createEngine({
        introspectionEndpoint: as.url,
        allowInsecureRequests: true,
        clientId: 'api',
        clientSecret: 'secret',
        cache: { redis: topology.redis() as never, keyPrefix: 'burst' },
        // A burst of 500 lookups on a loaded 2-core machine: the fake AS answers them all, but not always within the 5 s default.
        resilience: { maxConcurrentCalls: 1000, circuitBreaker: false, attemptTimeoutMs: 20_000, deadlineMs: 30_000 },
      });
      try {
        const t0 = performance.now();
        const results = await Promise.all(Array.from({ length: BURST }, (_, i) => engine.service.introspect(`tok-${i}`)));
        expect(results.every((r) => r.active)).toBe(true);
        const count = (pattern: string) => topology.cli('EVAL', `return #redis.call('KEYS', ARGV[1])`, '0', pattern);
        const ns = topology.name === 'cluster' ? '{burst}' : 'burst';
        let entries = 0;
        for (let i = 0; i < 50 && entries < BURST; i++) {
          await sleep(100);
          entries = Number(count(`${ns}::*`));
        }
        const subIndexes = Number(count(`${ns}:idx:sub:*`));
        const clientIndex = topology.cli(
          'EVAL',
          `local k = redis.call('KEYS', ARGV[1]) return k[1] and redis.call('SCARD', k[1]) or 0`,
          '0',
          `${ns}:idx:client_id:*`,
        );
        // MEMORY USAGE of every key of the service (entries, index sets), per entry.
        const sumScript = "local t = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do t = t + redis.call('MEMORY', 'USAGE', k) end return t";
        const perEntry = Number(topology.cli('EVAL', sumScript, '0', `${ns}*`)) / BURST;
        console.log(
          `${title}: burst of ${BURST}: ${entries} entries, ${subIndexes} sub indexes, client index of ${clientIndex} in ` +
            `${(performance.now() - t0).toFixed(0)} ms; MEMORY USAGE per entry, index included: ${perEntry.toFixed(0)} bytes`,
        );
        expect({ entries, subIndexes, clientIndex: Number(clientIndex) }).toEqual({ entries: BURST, subIndexes: BURST, clientIndex: BURST });
        expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
      } finally {
        await engine.close();
      }
    }, 60_000);
  });
}

describeWithTopology('a shared write Redis does not take', () => {
  it('is counted in token_introspection.cache.shared_writes_dropped and logged, and the answer is still served from memory', async () => {
    const as = await authorizationServer();
    const redis = await TestRedis.start();
    const reader = new CollectingReader();
    const engine = await createEngine({
      introspectionEndpoint: as.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'secret',
      cache: { redis: redis.url, keyPrefix: 'dropped' },
      metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
    });
    try {
      await redis.kill();
      capturedLogs.length = 0;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => engine.service.introspect(`tok-${i}`)));
      expect(results.every((r) => r.active)).toBe(true);
      // The writes fail in the background (at once with Redis gone; later on a loaded machine): wait for the 20, up to 5 s.
      const dropped = () => sum(reader, 'token_introspection.cache.shared_writes_dropped');
      for (const end = Date.now() + 5000; (await dropped()) < 20 && Date.now() < end;) await sleep(50);
      await sleep(100);
      expect(await dropped()).toBe(20);
      expect(capturedLogs.some((line) => line.includes('the entry stays in process memory only'))).toBe(true);
      expect((await engine.service.introspect('tok-3')).active).toBe(true);
    } finally {
      await engine.close();
      await as.stop();
    }
  });
});
