import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService, type IntrospectionModuleOptions } from '../../lib/index.js';
import { call, startApp } from '../support/app.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { createEngine, sleep } from '../support/engine.js';
import { behave, FaultyServer } from '../support/faulty-server.js';
import { describeWithRedis, TestRedis } from '../support/redis-server.js';

type Replica = { app: INestApplication; url: string };

/** Issue 10 (hardening I) with several replicas: a real Redis, a real oidc-provider, real HTTP over Express and Fastify. */
describeWithRedis('cache truth across replicas sharing a real Redis', () => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  const apps: Replica[] = [];
  const servers: FaultyServer[] = [];
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    for (const a of apps) await a.app.close();
    for (const close of closers) await close();
    for (const s of servers) await s.stop();
    await redis?.kill();
    await as?.stop();
  });
  const replica = async (adapter: 'express' | 'fastify', options: IntrospectionModuleOptions) => {
    const r = await startApp(adapter, options);
    apps.push(r);
    return r;
  };
  const engine = async (options: IntrospectionModuleOptions) => {
    const e = await createEngine(options);
    closers.push(e.close);
    return e.service;
  };
  const get = (r: Replica, path: string, token: string) => call(`${r.url}${path}`, { authorization: `Bearer ${token}` });
  const dump = () =>
    redis
      .cli('KEYS', '*')
      .split('\n')
      .filter(Boolean)
      .map((k) => `${k} => ${redis.cli('TYPE', k).trim() === 'set' ? redis.cli('SMEMBERS', k) : redis.cli('GET', k)}`)
      .join('\n');

  it('an inactive answer on replica A ends the cached acceptance on replica B: no stale 200 for a revoked token', async () => {
    const proxy = await ChaosProxy.start(as.issuer);
    try {
      const options = (): IntrospectionModuleOptions => ({
        introspectionEndpoint: proxy.url('/token/introspection'),
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        cache: { redis: redis.url, ttlSeconds: 1, staleIfErrorSeconds: 300, localTtlSeconds: 60, keyPrefix: 'defect1' },
        resilience: { retries: 0, circuitBreaker: false },
      });
      const a = await replica('express', options());
      const b = await replica('fastify', options());
      const token = await as.issueToken({ scope: 'read' });
      expect((await get(a, '/orders/stale', token)).status).toBe(200);
      await sleep(50);
      expect((await get(b, '/orders/stale', token)).status).toBe(200); // B holds it in memory now (localTtl 60 s)
      await as.revoke(token);
      await sleep(1100); // freshness over everywhere
      expect((await get(a, '/orders/stale', token)).status).toBe(401); // A learns: inactive
      await sleep(100); // the broadcast
      await proxy.setMode('down');
      const onB = await get(b, '/orders/stale', token);
      expect(onB.status).toBe(503); // not a stale 200 for a token the AS refused
      expect(onB.headers.get('retry-after')).toBeTruthy();
    } finally {
      await proxy.stop();
    }
  });

  it('each replica applies its own policy to what another wrote: payroll does not accept a token cached by orders', async () => {
    const base = {
      ...introspectionAt(as),
      cache: { redis: redis.url, localTtlSeconds: 0 },
    };
    const orders = await engine({ ...base, audience: 'https://orders.example.com' });
    const payroll = await engine({ ...base, audience: 'https://payroll.example.com' });
    const token = await as.issueToken({ scope: 'read', resource: 'https://orders.example.com' });
    expect((await orders.introspect(token)).active).toBe(true);
    await sleep(100);
    as.resetCounters();
    expect(await payroll.introspect(token)).toEqual({ active: false, reason: 'audience_mismatch' });
    expect(as.introspectionRequests).toBe(0); // decided from the shared entry, under payroll's own policy
    expect((await orders.introspect(token)).active).toBe(true);
  });

  it('Redis holds no raw token and no clear-text subject, username, e-mail or client id (values and indexes)', async () => {
    const pii = { sub: 'alice-subject-7731', username: 'alice.liddell', email: 'alice@wonderland.example', client_id: 'mad-hatter-client' };
    const server = await FaultyServer.start(
      behave.json({ active: true, scope: 'read', token_type: 'Bearer', exp: Math.floor(Date.now() / 1000) + 600, ...pii }),
    );
    servers.push(server);
    const service = await engine({
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: redis.url, keyPrefix: 'pii-check' },
    });
    const token = 'pii-token-0123456789abcdef';
    expect(await service.introspect(token)).toMatchObject({ active: true, ...pii });
    await sleep(150);
    const contents = dump();
    expect(contents).toContain('pii-check::'); // the entry is there...
    expect(contents).toContain('pii-check:idx:sub:'); // ...and indexed
    for (const value of [token, ...Object.values(pii)]) expect(contents).not.toContain(value);
    // A second replica with the token reads it back: the seal opens with the token, and only with it.
    const other = await engine({
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: redis.url, keyPrefix: 'pii-check' },
    });
    await sleep(200); // its Redis connection is made in the background
    const before = server.requests;
    expect(await other.introspect(token)).toMatchObject({ active: true, ...pii });
    expect(server.requests).toBe(before);
  });

  it('the subject index lives as long as its longest-lived token; a failed eviction by subject can be retried', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const server = await FaultyServer.start((req, res, body) => {
      const token = new URLSearchParams(body).get('token') ?? '';
      const exp = token.startsWith('long') ? now() + 600 : now() + 3;
      return behave.json({ active: true, sub: 'bob', scope: 'read', token_type: 'Bearer', exp })(req, res, body);
    });
    servers.push(server);
    const options = {
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: redis.url, keyPrefix: 'index-check', ttlSeconds: 600 },
    };
    const a = await engine(options);
    await a.introspect('long-lived-token');
    await sleep(100);
    await a.introspect('short-lived-token'); // written last, expires first
    await sleep(100);
    const indexKey = redis.cli('KEYS', 'index-check:idx:sub:*').trim();
    expect(Number(redis.cli('PTTL', indexKey))).toBeGreaterThan(300_000); // not cut down to the short token's 3 s

    redis.freeze();
    const t0 = performance.now();
    await expect(a.evictBySubject('bob')).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(5000); // bounded, not hung
    redis.thaw();
    expect(redis.cli('SCARD', indexKey).trim()).toBe('2'); // the index survived the failure
    expect(await a.evictBySubject('bob')).toBe(2); // the retry finds both
    const before = server.requests;
    await a.introspect('long-lived-token');
    expect(server.requests).toBe(before + 1);
  });

  it('purge() of one service leaves another service on the same Redis alone (keyPrefix / default namespace)', async () => {
    const base = { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true };
    const one = await engine({ ...base, ...CLIENTS.basic, cache: { redis: redis.url } });
    const two = await engine({ ...base, ...CLIENTS.post, clientAuthMethod: 'client_secret_post', cache: { redis: redis.url } });
    const token = await as.issueToken({ scope: 'read' });
    await one.introspect(token);
    await two.introspect(token);
    await sleep(100);
    const entries = () =>
      redis
        .cli('KEYS', 'token-introspection:*::*')
        .split('\n')
        .filter((k) => k && !k.includes('-evicted::'));
    const namespaces = new Set(entries().map((k) => k.split('::')[0]));
    expect(namespaces.size).toBeGreaterThanOrEqual(2);
    await one.purge();
    const left = new Set(entries().map((k) => k.split('::')[0]));
    expect(left.size).toBe(namespaces.size - 1);
    as.resetCounters();
    expect((await two.introspect(token)).active).toBe(true);
    expect(as.introspectionRequests).toBe(0); // still cached for service two
  });

  it('a lookup in flight on replica B when replica A evicts does not write its answer back', async () => {
    let revoked = false;
    const server = await FaultyServer.start((req, res, body) =>
      behave.delay(
        revoked ? 0 : 400,
        behave.json(revoked ? { active: false } : { active: true, scope: 'read', token_type: 'Bearer', exp: Math.floor(Date.now() / 1000) + 600 }),
      )(req, res, body),
    );
    servers.push(server);
    const options = {
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: redis.url, keyPrefix: 'inflight-check', negativeTtlSeconds: 0 },
    };
    const a = await engine(options);
    const b = await engine(options);
    const onB = b.introspect('token-in-flight-on-b');
    await sleep(100);
    revoked = true;
    await a.evict('token-in-flight-on-b');
    expect((await onB).active).toBe(true); // B's waiting caller gets its answer...
    await sleep(150);
    expect(redis.cli('KEYS', 'inflight-check::*').trim()).toBe(''); // ...but nothing is cached in Redis
    expect(await b.introspect('token-in-flight-on-b')).toEqual({ active: false, reason: 'inactive' }); // nor on B
  });

  it('a frozen Redis delays neither eviction nor shutdown for long', async () => {
    const options = {
      ...introspectionAt(as),
      cache: { redis: redis.url, keyPrefix: 'frozen-check' },
    };
    const r = await startApp('fastify', options);
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(r, '/orders', token)).status).toBe(200);
    redis.freeze();
    try {
      const service = r.app.get(IntrospectionService);
      const t0 = performance.now();
      await expect(service.evictBySubject('someone')).rejects.toThrow();
      await expect(service.evict(token)).rejects.toThrow();
      expect((await get(r, '/orders', token)).status).toBe(200); // lookups still work: the AS answers
      const closing = performance.now();
      await r.app.close();
      expect(performance.now() - closing).toBeLessThan(5000);
      expect(performance.now() - t0).toBeLessThan(10_000);
    } finally {
      redis.thaw();
    }
  });
});
