import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService, type IntrospectionModuleOptions } from '../../lib/index.js';
import { call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { behave, FaultyServer } from '../support/faulty-server.js';
import { describeWithRedis, TestRedis } from '../support/redis-server.js';

/** The cache entries in Redis (not the eviction tombstones, not the index). */
function entryKeys(redis: TestRedis): string[] {
  return redis
    .cli('KEYS', 'token-introspection:*::*')
    .split('\n')
    .filter((k) => k && !k.includes('-evicted::'));
}

describeWithRedis('several replicas sharing a real Redis and a real authorization server', () => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  let a: { app: INestApplication; url: string };
  let b: { app: INestApplication; url: string };
  const issued: string[] = [];
  const issue = async (scope = 'read') => {
    const t = await as.issueToken({ scope });
    issued.push(t);
    return t;
  };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
    const options = (): IntrospectionModuleOptions => ({
      ...introspectionAt(as),
      cache: { redis: redis.url, storeTimeoutMs: 100 },
      resilience: { circuitBreaker: false },
    });
    a = await startApp('express', options());
    b = await startApp('fastify', options());
  });
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await redis?.kill();
    await as?.stop();
  });

  const get = (replica: { url: string }, token: string) => call(`${replica.url}/orders`, { authorization: `Bearer ${token}` });

  it('a token introspected by replica A is a cache hit on replica B', async () => {
    const token = await issue();
    as.resetCounters();
    expect((await get(a, token)).status).toBe(200);
    await sleep(50); // the shared write is asynchronous
    expect((await get(b, token)).status).toBe(200);
    expect((await get(b, token)).status).toBe(200);
    expect(as.introspectionRequests).toBe(1);
  });

  it('evict on A: B rejects the token within 1 s (measured)', async () => {
    const token = await issue();
    expect((await get(a, token)).status).toBe(200);
    await sleep(50);
    expect((await get(b, token)).status).toBe(200); // now in B's local tier too
    await as.revoke(token);
    const t0 = performance.now();
    await a.app.get(IntrospectionService).evict(token);
    let status = 0;
    while (performance.now() - t0 < 1000 && status !== 401) {
      status = (await get(b, token)).status;
      if (status !== 401) await sleep(5);
    }
    const elapsed = performance.now() - t0;
    console.log(`time to revoke across replicas (evict on A → 401 on B): ${elapsed.toFixed(1)} ms`);
    expect(status).toBe(401);
    expect(elapsed).toBeLessThan(1000);
  });

  it('eviction by client_id reaches every replica', async () => {
    const t1 = await issue();
    const t2 = await issue('read write');
    for (const t of [t1, t2]) {
      expect((await get(a, t)).status).toBe(200);
      expect((await get(b, t)).status).toBe(200);
    }
    await as.revoke(t1);
    await as.revoke(t2);
    expect((await get(b, t1)).status).toBe(200); // still cached
    const dropped = await a.app.get(IntrospectionService).evictByClientId(CLIENTS.app.clientId);
    expect(dropped).toBeGreaterThanOrEqual(2);
    await sleep(100);
    expect((await get(b, t1)).status).toBe(401);
    expect((await get(b, t2)).status).toBe(401);
  });

  it("purge() on A empties Redis and every replica's local tier", async () => {
    await sleep(1100); // the client_id eviction above voids lookups that began within the cross-replica clock margin (1 s)
    const token = await issue();
    expect((await get(a, token)).status).toBe(200);
    await sleep(50);
    expect((await get(b, token)).status).toBe(200); // B: local tier now
    await as.revoke(token);
    expect((await get(b, token)).status).toBe(200); // still cached everywhere
    await a.app.get(IntrospectionService).purge();
    await sleep(50);
    expect(entryKeys(redis)).toEqual([]);
    expect((await get(b, token)).status).toBe(401);
  });

  it('Redis stores hashes only: no raw token in any key or value', async () => {
    expect((await get(a, await issue())).status).toBe(200);
    await sleep(50);
    const keys = redis.cli('KEYS', '*').split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    const dump = keys.map((k) => `${k} ${redis.cli('TYPE', k).trim() === 'set' ? redis.cli('SMEMBERS', k) : redis.cli('GET', k)}`).join('\n');
    for (const token of issued) expect(dump).not.toContain(token);
    expect(dump).not.toContain(CLIENTS.basic.clientSecret);
  });

  it('Redis killed under load: zero rejections of valid tokens; Redis back: the shared cache is used again', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, () => issue()));
    const statuses = new Map<number, number>();
    const started = performance.now();
    let killed = false;
    let i = 0;
    while (performance.now() - started < 1500) {
      if (!killed && performance.now() - started > 300) {
        await redis.kill();
        killed = true;
      }
      const replica = i % 2 === 0 ? a : b;
      const fresh = i % 5 === 0 ? await issue() : tokens[i % tokens.length]; // new tokens keep reaching the store
      const status = (await get(replica, fresh)).status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      i++;
    }
    console.log(`Redis killed under load: ${i} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect([...statuses.keys()]).toEqual([200]);

    await redis.restart();
    await sleep(2500); // reconnect, and the store breaker's half-open delay
    const token = await issue();
    as.resetCounters();
    // Retry until a write reached the restarted Redis (the first call after the breaker may be its probe).
    let shared = false;
    for (let attempt = 0; attempt < 20 && !shared; attempt++) {
      await a.app
        .get(IntrospectionService)
        .evict(token)
        .catch(() => undefined);
      expect((await get(a, token)).status).toBe(200);
      await sleep(100);
      shared = redis.cli('KEYS', '*').split('\n').filter(Boolean).length > 0;
    }
    expect(shared).toBe(true);
    const before = as.introspectionRequests;
    expect((await get(b, token)).status).toBe(200);
    expect(as.introspectionRequests).toBe(before); // B found it in Redis
  });
});

describeWithRedis('Redis down at start-up', () => {
  it('the app starts anyway, valid tokens pass through the AS, and Redis is used once it comes up', async () => {
    const as = await TestAuthorizationServer.start();
    const redis = await TestRedis.start();
    await redis.kill(); // the port is known, nothing listens
    const t0 = performance.now();
    const app = await startApp('express', {
      ...introspectionAt(as),
      cache: { redis: redis.url },
    });
    try {
      expect(performance.now() - t0).toBeLessThan(3000); // start-up does not wait for Redis
      const token = await as.issueToken({ scope: 'read' });
      for (let i = 0; i < 5; i++) expect((await call(`${app.url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
      await redis.restart();
      await sleep(2500); // reconnect + store breaker half-open
      let shared = false;
      for (let attempt = 0; attempt < 20 && !shared; attempt++) {
        const fresh = await as.issueToken({ scope: 'read' });
        expect((await call(`${app.url}/orders`, { authorization: `Bearer ${fresh}` })).status).toBe(200);
        await sleep(100);
        shared = entryKeys(redis).length > 0;
      }
      expect(shared).toBe(true);
    } finally {
      await app.app.close();
      await redis.kill();
      await as.stop();
    }
  });
});

describeWithRedis('eviction by subject (sub) across replicas', () => {
  it('evictBySubject on one replica drops every token of that subject everywhere', async () => {
    const redis = await TestRedis.start();
    const subjects: Record<string, string> = { 'tok-alice-1': 'alice', 'tok-alice-2': 'alice', 'tok-bob-1': 'bob' };
    let revoked = false;
    const server = await FaultyServer.start((req, res, body) => {
      const token = new URLSearchParams(body).get('token') ?? '';
      const sub = subjects[token];
      const active = Boolean(sub) && !(revoked && sub === 'alice');
      return behave.json(active ? { active, sub, scope: 'read', exp: Math.floor(Date.now() / 1000) + 600 } : { active: false })(req, res, body);
    });
    const options: IntrospectionModuleOptions = {
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'secret',
      cache: { redis: redis.url },
    };
    const a = await startApp('express', options);
    const b = await startApp('fastify', options);
    try {
      for (const token of Object.keys(subjects)) {
        expect((await call(`${a.url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
        expect((await call(`${b.url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
      }
      revoked = true;
      expect(await b.app.get(IntrospectionService).evictBySubject('alice')).toBe(2);
      await sleep(100);
      for (const replica of [a, b]) {
        expect((await call(`${replica.url}/orders`, { authorization: 'Bearer tok-alice-1' })).status).toBe(401);
        expect((await call(`${replica.url}/orders`, { authorization: 'Bearer tok-alice-2' })).status).toBe(401);
        expect((await call(`${replica.url}/orders`, { authorization: 'Bearer tok-bob-1' })).status).toBe(200);
      }
      // The index holds hashed subjects only.
      expect(redis.cli('KEYS', '*')).not.toContain('alice');
    } finally {
      await a.app.close();
      await b.app.close();
      await server.stop();
      await redis.kill();
    }
  });
});
