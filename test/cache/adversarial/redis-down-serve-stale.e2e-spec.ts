// Issue 26 (third adversarial review): while the eviction subscription is unproven — which includes every Redis outage — an
// in-process active answer older than 1 s is not served (IntrospectionCache.visible), not even as the stale fallback.
// So when Redis is down and the authorization server then fails too, a token verified 3 s earlier (fresh for
// `ttlSeconds`, 60 s, and within `staleIfErrorSeconds`) is answered 503, where a replica with `cache.redis` on a
// healthy Redis, or with no Redis at all, answers 200. During the Redis outage alone, the same token also costs one
// AS lookup per second per replica instead of one per `ttlSeconds` (60x the AS load at the default TTL).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { ChaosProxy } from '../../support/chaos-proxy.js';
import { sleep } from '../../support/engine.js';
import { describeWithRedis, TestRedis } from '../../support/redis-server.js';
import { get, IntrospectionCounter, type Replica } from '../../support/topology-soak.js';

describeWithRedis('a replica whose Redis is down when the authorization server fails too', () => {
  let redis: TestRedis;
  let as: TestAuthorizationServer;
  let counter: IntrospectionCounter;
  let proxy: ChaosProxy;
  let a: Replica;

  beforeAll(async () => {
    [redis, as] = await Promise.all([TestRedis.start(), TestAuthorizationServer.start()]);
    counter = await IntrospectionCounter.start(as.introspectionEndpoint);
    proxy = await ChaosProxy.start(counter.url.replace(/\/introspect$/, ''));
    a = await startApp('express', {
      introspectionEndpoint: proxy.url('/introspect'),
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      outagePolicy: 'serve-stale',
      cache: { redis: { url: redis.url }, keyPrefix: 'down3', ttlSeconds: 60, staleIfErrorSeconds: 300 },
      resilience: { retries: 0 },
    });
    await sleep(500);
  }, 60_000);

  afterAll(async () => {
    await a?.app.close();
    await proxy?.stop();
    await counter?.stop();
    await as?.stop();
    await redis?.kill();
  }, 30_000);

  it('keeps answering 200 for a token verified seconds ago (fresh, or stale) when Redis and then the AS fail', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token)).status).toBe(200);
    // Control: with Redis up, an AS outage does not touch a freshly cached token.
    await proxy.setMode('down');
    expect((await get(a, token)).status).toBe(200);
    await proxy.setMode('ok');
    await redis.kill();
    const before = counter.count(token);
    const t0 = performance.now();
    while (performance.now() - t0 < 3000) {
      expect((await get(a, token)).status).toBe(200);
      await sleep(50);
    }
    const lookups = counter.count(token) - before;
    await proxy.setMode('down');
    await sleep(1100);
    const statuses: Record<number, number> = {};
    for (let i = 0; i < 10; i++) {
      const s = (await get(a, token)).status;
      statuses[s] = (statuses[s] ?? 0) + 1;
      await sleep(100);
    }
    console.log(`Redis down: ${lookups} AS lookups of one cached token in 3 s; then AS down too: ${JSON.stringify(statuses)}`);
    expect(statuses[200]).toBe(10);
  }, 30_000);
});
