import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { IntrospectionService, Recheck, Scopes, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, call, startApp, type AdapterName } from '../support/app.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { CollectingReader, sum } from '../support/metrics.js';
import { describeWithRedis, TestRedis } from '../support/redis-server.js';

@Controller('r')
@Scopes('read')
class RevalidationController {
  @Get()
  plain() {
    return { ok: true };
  }

  @Get('sensitive')
  @Recheck()
  sensitive() {
    return { ok: true };
  }

  @Get('never')
  @Recheck(0)
  never() {
    return { ok: true };
  }
}

type App = { app: INestApplication; url: string; reader: CollectingReader; service: IntrospectionService };

/**
 * Issue 16, refresh-ahead and adaptive re-checks, with a real oidc-provider counting the introspection calls it
 * answers (`introspectionRequests`), real HTTP apps over Express and Fastify, and a real Redis for the replica cases.
 */
describe.each(ADAPTERS)('background revalidation over %s (real oidc-provider counts AS calls)', (adapter: AdapterName) => {
  let as: TestAuthorizationServer;
  const apps: App[] = [];
  const proxies: ChaosProxy[] = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterEach(async () => {
    for (const a of apps.splice(0)) await a.app.close();
    for (const p of proxies.splice(0)) await p.stop();
  });
  afterAll(async () => {
    await as?.stop();
  });

  async function app(cache: IntrospectionModuleOptions['cache'], extra: Partial<IntrospectionModuleOptions> = {}): Promise<App> {
    const reader = new CollectingReader();
    const started = await startApp(
      adapter,
      {
        ...introspectionAt(as),
        cache,
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
        resilience: { retries: 0 },
        ...extra,
      },
      [RevalidationController],
    );
    const a = { ...started, reader, service: started.app.get(IntrospectionService) };
    apps.push(a);
    return a;
  }
  const get = (a: { url: string }, token: string, path = '/r') => call(`${a.url}${path}`, { authorization: `Bearer ${token}` });

  it('a hot token never takes a synchronous miss across several TTLs; without refresh-ahead it does, once per TTL', async () => {
    const run = async (refreshAheadWindow: number) => {
      const a = await app({ ttlSeconds: 1, revalidation: { refreshAheadWindow } });
      const token = await as.issueToken({ scope: 'read' });
      as.resetCounters();
      const until = Date.now() + 3500;
      while (Date.now() < until) {
        expect((await get(a, token)).status).toBe(200);
        await sleep(40);
      }
      await sleep(100);
      return {
        misses: await sum(a.reader, 'token_introspection.cache.lookups', { result: 'miss' }),
        hits: await sum(a.reader, 'token_introspection.cache.lookups', { result: 'hit' }),
        asCalls: as.introspectionRequests,
        refreshes: await sum(a.reader, 'token_introspection.revalidations', { kind: 'refresh', outcome: 'active' }),
      };
    };
    const ahead = await run(0.5);
    expect(ahead.misses).toBe(1); // the first request only
    expect(ahead.hits).toBeGreaterThan(40);
    // Refreshed about every 0.5 s (from half the TTL on): bounded by one call per cached answer.
    expect(ahead.refreshes).toBeGreaterThanOrEqual(4);
    expect(ahead.asCalls).toBe(1 + ahead.refreshes);
    expect(ahead.asCalls).toBeLessThanOrEqual(1 + Math.ceil(3.6 / 0.5));

    const ttlOnly = await run(0);
    expect(ttlOnly.misses).toBeGreaterThanOrEqual(3); // one synchronous miss per TTL
    expect(ttlOnly.refreshes).toBe(0);
  });

  it('refresh-ahead sees a revocation on a busy token within (1 − window) × TTL of the last refresh, not a full TTL', async () => {
    const a = await app({ ttlSeconds: 2, revalidation: { refreshAheadWindow: 0.5 } });
    const token = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    expect((await get(a, token)).status).toBe(200);
    // Revoke right after an answer was cached: TTL alone would accept the token for ~2 s more.
    await as.revoke(token);
    const revokedAt = Date.now();
    let seen = 0;
    while (Date.now() - revokedAt < 3000) {
      if ((await get(a, token)).status === 401) {
        seen = Date.now() - revokedAt;
        break;
      }
      await sleep(20);
    }
    expect(seen).toBeGreaterThan(0);
    // Found by a refresh-ahead lookup (counted), not by the entry's TTL running out; `seen` is printed, not bounded.
    console.log(`refresh-ahead: revocation seen after ${seen} ms (TTL only: ~2000 ms)`);
    expect(await sum(a.reader, 'token_introspection.revalidations', { kind: 'refresh', outcome: 'revoked' })).toBe(1);
    expect(await sum(a.reader, 'token_introspection.revalidation.time_to_revoke', { kind: 'refresh' })).toBe(1);
  });

  it('refreshes stay bounded in rate and in concurrency under a flood of many distinct hot tokens', async () => {
    const proxy = await ChaosProxy.start(as.issuer);
    proxies.push(proxy);
    const flood = async (revalidation: { maxPerSecond: number; maxConcurrent: number }) => {
      await proxy.setMode('ok');
      const a = await app(
        { ttlSeconds: 30, revalidation: { refreshAheadWindow: 0.9, ...revalidation } },
        { introspectionEndpoint: proxy.url('/token/introspection'), resilience: { retries: 0, maxConcurrentCalls: 64 } },
      );
      const tokens = await Promise.all(Array.from({ length: 40 }, () => as.issueToken({ scope: 'read' })));
      for (const t of tokens) expect((await get(a, t)).status).toBe(200);
      await sleep(3100); // every entry is now in its refresh window (from 3 s after its fetch)
      await proxy.setMode('delay');
      proxy.delayMs = 400;
      as.resetCounters();
      const started = Date.now();
      const until = started + 1500;
      while (Date.now() < until) await Promise.all(tokens.map(async (t) => expect((await get(a, t)).status).toBe(200)));
      // The flood's real length: its last round may end well after 1.5 s on a loaded machine.
      const seconds = (Date.now() - started) / 1000;
      await sleep(500);
      const skipped = (reason: string) => sum(a.reader, 'token_introspection.revalidations', { kind: 'refresh', outcome: 'skipped', reason });
      return {
        seconds,
        asCalls: as.introspectionRequests,
        rate: await skipped('rate'),
        concurrency: await skipped('concurrency'),
        misses: await sum(a.reader, 'token_introspection.cache.lookups', { result: 'miss' }),
      };
    };
    // Rate: a bucket of 4, then 4/s over ~1.5 s — never one per token (40).
    const byRate = await flood({ maxPerSecond: 4, maxConcurrent: 32 });
    expect(byRate.asCalls).toBeGreaterThanOrEqual(4);
    expect(byRate.asCalls).toBeLessThanOrEqual(Math.min(39, 4 + 4 * Math.ceil(byRate.seconds)));
    expect(byRate.rate).toBeGreaterThan(0);
    expect(byRate.misses).toBe(40); // the priming requests only: no request waited
    // Concurrency: 2 at a time, each held 400 ms by the proxy, over ~1.5 s.
    const byConcurrency = await flood({ maxPerSecond: 1000, maxConcurrent: 2 });
    expect(byConcurrency.asCalls).toBeGreaterThanOrEqual(2);
    expect(byConcurrency.asCalls).toBeLessThanOrEqual(2 * Math.ceil((byConcurrency.seconds * 1000 + 400) / 400));
    expect(byConcurrency.concurrency).toBeGreaterThan(0);
    expect(byConcurrency.misses).toBe(40);
  });

  it('re-check fraction 1 re-introspects cache hits in the background; fraction 0 does not (counted at the AS)', async () => {
    const count = async (recheckFraction: number, path = '/r') => {
      const a = await app({ ttlSeconds: 60, revalidation: { recheckFraction } });
      const token = await as.issueToken({ scope: 'read' });
      as.resetCounters();
      for (let i = 0; i < 12; i++) {
        expect((await get(a, token, path)).status).toBe(200);
        await sleep(40); // each background lookup finishes before the next hit (one per token at a time)
      }
      return as.introspectionRequests;
    };
    expect(await count(0)).toBe(1);
    expect(await count(1)).toBeGreaterThanOrEqual(11);
    // Per route: @Recheck() re-checks although the module default is 0, @Recheck(0) never does although it is 1.
    expect(await count(0, '/r/sensitive')).toBeGreaterThanOrEqual(11);
    expect(await count(1, '/r/never')).toBe(1);
  });

  it('a re-check that finds the token revoked evicts it: the next request gets 401 without a synchronous lookup', async () => {
    const a = await app({ ttlSeconds: 60, revalidation: { refreshAheadWindow: 0 } });
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token, '/r/sensitive')).status).toBe(200);
    await as.revoke(token);
    expect((await get(a, token, '/r/sensitive')).status).toBe(200); // from cache; re-check scheduled
    await sleep(200);
    const before = as.introspectionRequests;
    const after = await get(a, token, '/r'); // even on a route without @Recheck()
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('invalid_token');
    expect(as.introspectionRequests).toBe(before); // the eviction left the AS's inactive answer in cache
    expect(await sum(a.reader, 'token_introspection.revalidations', { kind: 'recheck', outcome: 'revoked' })).toBe(1);
  });

  it('no background lookups while the breaker is open: skipped, counted, the AS sees nothing', async () => {
    const proxy = await ChaosProxy.start(as.issuer);
    proxies.push(proxy);
    const a = await app(
      { ttlSeconds: 60, revalidation: { recheckFraction: 1 } },
      {
        introspectionEndpoint: proxy.url('/token/introspection'),
        resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 1, halfOpenAfterMs: 30_000 } },
      },
    );
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token)).status).toBe(200);
    await sleep(100);
    await proxy.setMode('error500');
    expect((await get(a, await as.issueToken({ scope: 'read' }))).status).toBe(503); // a miss fails: breaker opens
    expect(a.service.circuitState).toBe('open');
    await proxy.setMode('ok'); // the AS answers again, but the breaker stays open for 30 s
    as.resetCounters();
    for (let i = 0; i < 10; i++) expect((await get(a, token)).status).toBe(200);
    await sleep(200);
    expect(as.introspectionRequests).toBe(0);
    expect(await sum(a.reader, 'token_introspection.revalidations', { kind: 'recheck', outcome: 'skipped', reason: 'breaker' })).toBe(10);
  });

  it('an eviction racing a refresh wins: the refresh’s active answer is not cached', async () => {
    const proxy = await ChaosProxy.start(as.issuer);
    proxies.push(proxy);
    const a = await app({ ttlSeconds: 60, revalidation: { recheckFraction: 1 } }, { introspectionEndpoint: proxy.url('/token/introspection') });
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token)).status).toBe(200);
    await sleep(50);
    await proxy.setMode('delay');
    proxy.delayMs = 400;
    as.resetCounters();
    expect((await get(a, token)).status).toBe(200); // a background lookup starts, held 400 ms by the proxy
    await sleep(100);
    await a.service.evict(token); // while it is in flight
    await sleep(600); // it answers `active` (the AS did not revoke the token)
    expect(as.introspectionRequests).toBe(1);
    await proxy.setMode('ok');
    expect((await get(a, token)).status).toBe(200);
    expect(as.introspectionRequests).toBe(2); // a synchronous lookup: the evicted entry was not brought back
    expect(await sum(a.reader, 'token_introspection.cache.lookups', { result: 'miss' })).toBe(2);
  });
});

describeWithRedis.each(ADAPTERS)('background revalidation across two replicas sharing a real Redis, over %s', (adapter: AdapterName) => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  const apps: Array<{ app: INestApplication; url: string }> = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    for (const a of apps) await a.app.close();
    await redis?.kill();
    await as?.stop();
  });
  const replica = async (keyPrefix: string, cache: IntrospectionModuleOptions['cache'] = {}) => {
    const r = await startApp(
      adapter,
      {
        ...introspectionAt(as),
        cache: { redis: redis.url, keyPrefix, localTtlSeconds: 60, ...cache },
        resilience: { retries: 0 },
      },
      [RevalidationController],
    );
    apps.push(r);
    return r;
  };
  const get = (a: { url: string }, token: string, path = '/r') => call(`${a.url}${path}`, { authorization: `Bearer ${token}` });

  it('a revocation found by a re-check on replica A evicts the token on replica B too', async () => {
    const a = await replica(`recheck-${adapter}`);
    const b = await replica(`recheck-${adapter}`);
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token)).status).toBe(200);
    await sleep(50);
    expect((await get(b, token)).status).toBe(200); // B holds it in memory (localTtl 60 s)
    await as.revoke(token);
    expect((await get(a, token, '/r/sensitive')).status).toBe(200); // cached; A re-checks in the background
    await sleep(300);
    expect((await get(b, token)).status).toBe(401);
  });

  it('an eviction on replica B racing a refresh on replica A wins on both', async () => {
    const proxy = await ChaosProxy.start(as.issuer);
    try {
      const options = (): IntrospectionModuleOptions => ({
        introspectionEndpoint: proxy.url('/token/introspection'),
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        cache: { redis: redis.url, keyPrefix: `race-${adapter}`, localTtlSeconds: 60 },
        resilience: { retries: 0 },
      });
      const a = await startApp(adapter, options(), [RevalidationController]);
      const b = await startApp(adapter, options(), [RevalidationController]);
      apps.push(a, b);
      const token = await as.issueToken({ scope: 'read' });
      expect((await get(a, token)).status).toBe(200);
      await sleep(50);
      await proxy.setMode('delay');
      proxy.delayMs = 400;
      as.resetCounters();
      expect((await get(a, token, '/r/sensitive')).status).toBe(200); // A's background lookup is held 400 ms
      await sleep(100);
      await b.app.get(IntrospectionService).evict(token);
      await sleep(700);
      expect(as.introspectionRequests).toBe(1);
      await proxy.setMode('ok');
      expect((await get(a, token)).status).toBe(200);
      // A did not keep (nor share) the answer of the lookup the eviction overtook: it asked the AS again.
      expect(as.introspectionRequests).toBe(2);
    } finally {
      await proxy.stop();
    }
  });
});
