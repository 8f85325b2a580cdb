/**
 * The sample's own tests, written as a user of the library writes them for their app: the real
 * AppModule, with only the authorization server replaced by the test kit
 * (`nestjs-token-introspection/testing`). Requests go through the real guard, service, cache and
 * resilience policies, over both HTTP adapters.
 */
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { IntrospectionService } from 'nestjs-token-introspection';
import { InMemoryAuthorizationServer, overrideIntrospection } from 'nestjs-token-introspection/testing';
import { AppModule } from './app.module.js';

async function get(url: string, token?: string, method = 'GET') {
  const res = await fetch(url, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe.each(['express', 'fastify'])('the sample API, tested with the test kit over %s', (adapter) => {
  let as: InMemoryAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(() => {
    // What the sample reads from its environment; no request ever reaches this address.
    process.env.AUTH_ISSUER = 'https://auth.example.com';
    process.env.AUTH_CLIENT_ID = 'orders-api';
    process.env.AUTH_CLIENT_SECRET = 'not-used-in-tests';
  });

  async function start(): Promise<void> {
    as = new InMemoryAuthorizationServer()
      .activeToken('reader', { scope: 'read', client_id: 'shop', sub: 'alice' })
      .activeToken('writer', { scope: 'read write', client_id: 'shop' })
      .activeToken('expired', { scope: 'read', exp: Math.floor(Date.now() / 1000) - 60 });
    const moduleRef = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }), as).compile();
    app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  }
  afterEach(async () => {
    await app?.close();
  });

  it('public route: 200 without a token and without asking the authorization server', async () => {
    await start();
    expect((await get(`${url}/`)).status).toBe(200);
    expect(as.introspectionCalls).toBe(0);
  });

  it('declared tokens: 200 with their claims; missing, unknown or expired tokens: 401 with RFC 6750 challenges', async () => {
    await start();
    const ok = await get(`${url}/orders`, 'reader');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ client: 'shop', scopes: ['read'] });

    const missing = await get(`${url}/orders`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');

    for (const token of ['unknown', 'expired']) {
      const refused = await get(`${url}/orders`, token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it('scopes: 403 insufficient_scope without write, 201 with it; @AnyScope accepts either', async () => {
    await start();
    const forbidden = await get(`${url}/orders`, 'reader', 'POST');
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope".*scope="read write"/);
    expect((await get(`${url}/orders`, 'writer', 'POST')).status).toBe(201);
    expect((await get(`${url}/reports`, 'reader')).status).toBe(403);
    expect((await get(`${url}/reports`, 'writer')).status).toBe(200);
  });

  it('the real cache answers repeated requests; a revoked token is refused once evicted', async () => {
    await start();
    for (let i = 0; i < 3; i++) expect((await get(`${url}/orders`, 'reader')).status).toBe(200);
    expect(as.introspectionCalls).toBe(1);

    as.revoke('reader');
    expect((await get(`${url}/orders`, 'reader')).status).toBe(200); // still cached, as in production
    await app.get(IntrospectionService).evict('reader');
    expect((await get(`${url}/orders`, 'reader')).status).toBe(401);
  });

  it('authorization server outage: 503 + Retry-After for unknown tokens, cached tokens still served, readiness down', async () => {
    await start();
    expect((await get(`${url}/catalog`, 'reader')).status).toBe(200);
    expect((await get(`${url}/health/ready`)).status).toBe(200);

    as.simulateOutage();
    const unavailable = await get(`${url}/orders`, 'writer');
    expect(unavailable.status).toBe(503);
    expect(Number(unavailable.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await get(`${url}/catalog`, 'reader')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the sample reuses probe results for 1 s
    const ready = await get(`${url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.error['authorization-server']).toMatchObject({ status: 'down' });
  });
});
