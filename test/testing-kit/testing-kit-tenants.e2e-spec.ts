/**
 * The consumer test kit with `tenants`: one in-memory authorization server per tenant (or one for all), through the real
 * guard, tenant selection and per-tenant engines, over both HTTP adapters.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Introspected, IntrospectionModule, type IntrospectionModuleOptions } from '../../lib/index.js';
import { InMemoryAuthorizationServer, overrideIntrospection } from '../../lib/testing/index.js';
import { ADAPTERS, call } from '../support/app.js';

@Controller(':tenant/kit')
class TenantKitController {
  @Get()
  read(@Introspected('introspectionTenant') tenant: unknown, @Introspected('sub') sub: unknown) {
    return { tenant, sub };
  }
}

const AS = (name: string) => ({ issuer: `https://${name}.example.test`, clientId: `kit-${name}`, clientSecret: 'never-sent' });
const OPTIONS: IntrospectionModuleOptions = {
  tenants: { a: AS('a'), b: AS('b') },
  tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b' } },
  resilience: { retries: 0 },
};

describe.each(ADAPTERS)('test kit with tenants over %s', (adapter) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(servers: Parameters<typeof overrideIntrospection>[1]) {
    @Module({ imports: [IntrospectionModule.forRoot(OPTIONS)], controllers: [TenantKitController] })
    class AppModule {}
    const moduleRef = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }), servers).compile();
    app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  it('one in-memory server per tenant: each tenant answers from its own, and a token one tenant knows gets 401 at the other', async () => {
    const a = new InMemoryAuthorizationServer().activeToken('t', { sub: 'alice-at-a' });
    const b = new InMemoryAuthorizationServer().activeToken('u', { sub: 'bob-at-b' });
    const url = await start({ a, b });
    expect(await call(`${url}/a/kit`, { authorization: 'Bearer t' })).toMatchObject({ status: 200, body: { tenant: 'a', sub: 'alice-at-a' } });
    expect(await call(`${url}/b/kit`, { authorization: 'Bearer u' })).toMatchObject({ status: 200, body: { tenant: 'b', sub: 'bob-at-b' } });
    expect((await call(`${url}/b/kit`, { authorization: 'Bearer t' })).status).toBe(401);
    expect([a.introspectionCalls, b.introspectionCalls]).toEqual([1, 2]);
  });

  it('one in-memory server for every tenant: the same declared tokens at each; an outage there is a 503 at each', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { sub: 'alice' });
    const url = await start(as);
    expect(await call(`${url}/b/kit`, { authorization: 'Bearer t' })).toMatchObject({ status: 200, body: { tenant: 'b' } });
    as.simulateOutage();
    expect((await call(`${url}/a/kit`, { authorization: 'Bearer t' })).status).toBe(503);
  });

  it('a tenant without an in-memory server fails at start-up, naming the tenant', async () => {
    await expect(start({ a: new InMemoryAuthorizationServer() })).rejects.toThrow(/no InMemoryAuthorizationServer for the tenant 'b'/);
  });
});
