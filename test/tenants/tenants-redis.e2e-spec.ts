import { afterAll, beforeAll, expect } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Introspected, IntrospectionService, type ActiveIntrospectionResult, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { sleep } from '../support/engine.js';
import { behave, FaultyServer } from '../support/faulty-server.js';
import { describeWithRedis, itWithRedis, TestRedis } from '../support/redis-server.js';

const SHARED_TOKEN = 'the-same-token-string-at-two-tenants-in-redis';

@Controller(':tenant/orders')
class TenantOrdersController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { tenant: token.introspectionTenant ?? null, sub: token.sub ?? null };
  }
}

/** An introspection endpoint that knows SHARED_TOKEN (as `sub`) and nothing else. */
function knows(sub: string): Parameters<typeof FaultyServer.start>[0] {
  return (req, res, body) =>
    behave.json(
      new URLSearchParams(body).get('token') === SHARED_TOKEN
        ? { active: true, sub, scope: 'read', exp: Math.floor(Date.now() / 1000) + 600 }
        : { active: false },
    )(req, res, body);
}

/** Two tenants, two replicas, one Redis: each tenant's entries, index and eviction broadcasts live in its own namespace. */
describeWithRedis.each(ADAPTERS)('tenants sharing one Redis over %s (two replicas)', (adapter) => {
  let redis: TestRedis;
  let knowsA: FaultyServer;
  let knowsB: FaultyServer;
  const replicas: Array<{ app: INestApplication; url: string }> = [];
  const bearer = { authorization: `Bearer ${SHARED_TOKEN}` };

  beforeAll(async () => {
    redis = await TestRedis.start();
    knowsA = await FaultyServer.start(knows('alice-at-a'));
    knowsB = await FaultyServer.start(knows('alice-at-b'));
    const options: IntrospectionModuleOptions = {
      tenants: {
        a: { introspectionEndpoint: knowsA.url, clientId: 'api', clientSecret: 'api-secret' },
        b: { introspectionEndpoint: knowsB.url, clientId: 'api', clientSecret: 'api-secret' },
      },
      tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b' } },
      allowInsecureRequests: true,
      cache: { redis: redis.url, keyPrefix: 'orders' },
    };
    for (let i = 0; i < 2; i++) replicas.push(await startApp(adapter, options, [TenantOrdersController]));
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.app.close();
    await Promise.all([knowsA?.stop(), knowsB?.stop()]);
    await redis?.kill();
  });

  itWithRedis("the same token string at two tenants is two Redis entries, each under its tenant's namespace, shared by the replicas", async () => {
    const [one, two] = replicas;
    expect(await call(`${one.url}/a/orders`, bearer)).toMatchObject({ status: 200, body: { tenant: 'a', sub: 'alice-at-a' } });
    expect(await call(`${one.url}/b/orders`, bearer)).toMatchObject({ status: 200, body: { tenant: 'b', sub: 'alice-at-b' } });
    expect(await call(`${two.url}/a/orders`, bearer)).toMatchObject({ status: 200, body: { tenant: 'a', sub: 'alice-at-a' } });
    expect(await call(`${two.url}/b/orders`, bearer)).toMatchObject({ status: 200, body: { tenant: 'b', sub: 'alice-at-b' } });
    expect([knowsA.requests, knowsB.requests]).toEqual([1, 1]);
    const keys = (pattern: string) => redis.cli('--scan', '--pattern', pattern).split('\n').filter(Boolean);
    expect(keys('orders:a::*')).toHaveLength(1);
    expect(keys('orders:b::*')).toHaveLength(1);
  });

  itWithRedis("an eviction at one tenant reaches the other replica for that tenant only; the other tenant's entry stays", async () => {
    const [one, two] = replicas;
    await one.app.get(IntrospectionService).evict(SHARED_TOKEN, { tenant: 'a' });
    await sleep(200); // the broadcast's way to the other replica
    const before = [knowsA.requests, knowsB.requests];
    expect(await call(`${two.url}/a/orders`, bearer)).toMatchObject({ status: 200, body: { sub: 'alice-at-a' } });
    expect(await call(`${two.url}/b/orders`, bearer)).toMatchObject({ status: 200, body: { sub: 'alice-at-b' } });
    expect([knowsA.requests - before[0], knowsB.requests - before[1]]).toEqual([1, 0]);
  });
});
