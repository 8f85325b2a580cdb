import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionModule } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { describeWithRedis, TestRedis } from '../support/redis-server.js';

const SECRET = 'webhook-secret-0123456789abcdef';

describeWithRedis.each(ADAPTERS)('revocation webhook over %s (two replicas, real Redis, real AS)', (adapter) => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  let a: { app: INestApplication; url: string };
  let b: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
    const module = () =>
      IntrospectionModule.forRootAsync({
        revocationWebhook: { path: 'internal/revocations' },
        useFactory: () => ({
          ...introspectionAt(as),
          cache: { redis: redis.url },
          revocationWebhookSecret: SECRET,
        }),
      });
    a = await startApp(adapter, module());
    b = await startApp(adapter, module());
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await redis?.kill();
    await as?.stop();
  });

  async function webhook(body: unknown, secret: string | null = SECRET) {
    const res = await fetch(`${a.url}/internal/revocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const get = (replica: { url: string }, token: string) => call(`${replica.url}/orders`, { authorization: `Bearer ${token}` });

  it('refuses callers without the secret (401) and malformed notifications (400)', async () => {
    expect((await webhook({ token: 'x' }, null)).status).toBe(401);
    expect((await webhook({ token: 'x' }, 'wrong-secret-wrong-secret')).status).toBe(401);
    expect((await webhook({})).status).toBe(400);
    expect((await webhook({ token: 'x', sub: 'y' })).status).toBe(400);
    expect((await webhook({ token: 42 })).status).toBe(400);
  });

  it('a pushed token revocation reaches the other replica', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(b, token)).status).toBe(200);
    await as.revoke(token);
    expect((await get(b, token)).status).toBe(200); // cached
    expect(await webhook({ token })).toEqual({ status: 200, body: { evicted: 'token' } });
    await sleep(50);
    expect((await get(b, token)).status).toBe(401);
  });

  it('a pushed client_id revocation evicts every token of that client everywhere', async () => {
    const tokens = [await as.issueToken({ scope: 'read' }), await as.issueToken({ scope: 'read' })];
    for (const t of tokens) expect((await get(b, t)).status).toBe(200);
    for (const t of tokens) await as.revoke(t);
    const res = await webhook({ client_id: CLIENTS.app.clientId });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ evicted: 'client_id', entries: expect.any(Number) });
    await sleep(50);
    for (const t of tokens) expect((await get(b, t)).status).toBe(401);
  });
});

describe('revocation webhook configurations (refused at start-up, not 503 at run time)', () => {
  const base = { introspectionEndpoint: 'http://127.0.0.1:9/introspect', allowInsecureRequests: true, ...CLIENTS.basic, revocationWebhookSecret: SECRET };
  const start = (webhook: { path: string; scope?: 'all-replicas' | 'this-replica' }, cache: unknown) =>
    startApp('express', IntrospectionModule.forRoot({ ...base, cache: cache as never, revocationWebhook: webhook }));

  it('without cache.redis the default (every replica) is refused with the fix', async () => {
    await expect(start({ path: 'hook' }, undefined)).rejects.toThrow(/needs `cache.redis`.*scope: 'this-replica'/s);
  });
  it('with cache: false it is refused', async () => {
    await expect(start({ path: 'hook' }, false)).rejects.toThrow(/nothing to evict/);
  });
  it("'this-replica' with a shared cache is refused", async () => {
    await expect(start({ path: 'hook', scope: 'this-replica' }, { store: new Map() })).rejects.toThrow(/limited to this replica/);
  });

  it.each(ADAPTERS)("'this-replica' with the in-memory cache evicts by token, sub and client_id on that instance (%s)", async (adapter) => {
    const as = await TestAuthorizationServer.start();
    const app = await startApp(
      adapter,
      IntrospectionModule.forRoot({ ...base, introspectionEndpoint: as.introspectionEndpoint, revocationWebhook: { path: 'hook', scope: 'this-replica' } }),
    );
    try {
      const hook = async (body: unknown) =>
        (
          await fetch(`${app.url}/hook`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
            body: JSON.stringify(body),
          })
        ).status;
      const tokens = [await as.issueToken({ scope: 'read' }), await as.issueToken({ scope: 'read' })];
      for (const t of tokens) expect((await call(`${app.url}/orders`, { authorization: `Bearer ${t}` })).status).toBe(200);
      for (const t of tokens) await as.revoke(t);
      expect(await hook({ token: tokens[0] })).toBe(200);
      expect((await call(`${app.url}/orders`, { authorization: `Bearer ${tokens[0]}` })).status).toBe(401);
      expect((await call(`${app.url}/orders`, { authorization: `Bearer ${tokens[1]}` })).status).toBe(200); // still cached
      expect(await hook({ client_id: CLIENTS.app.clientId })).toBe(200);
      expect((await call(`${app.url}/orders`, { authorization: `Bearer ${tokens[1]}` })).status).toBe(401);
    } finally {
      await app.app.close();
      await as.stop();
    }
  });
});
