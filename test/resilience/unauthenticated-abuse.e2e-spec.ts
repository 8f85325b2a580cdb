import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { sleep } from '../support/engine.js';
import { behave, FaultyServer } from '../support/faulty-server.js';

/** One GET from a given local address (the loopback network is 127.0.0.0/8): another client, as the API sees it. */
function getFrom(localAddress: string, url: string, authorization: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { localAddress, headers: { authorization }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** What an unauthenticated caller sends must never trip a breaker or a limit that valid users depend on. */
describe.each(ADAPTERS)('unauthenticated abuse over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let proxy: ChaosProxy;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    proxy = await ChaosProxy.start(as.issuer);
    ({ app, url } = await startApp(adapter, {
      introspectionEndpoint: proxy.url('/token/introspection'),
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      exposeOutageReason: true, // the 503 bodies name their reason (development option), asserted below
      cache: { ttlSeconds: 60 },
      resilience: {
        attemptTimeoutMs: 1000,
        deadlineMs: 1000,
        retries: 1,
        maxConcurrentCalls: 4,
        maxQueuedCalls: 20,
        circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 },
      },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await as?.stop();
  });
  const breaker = () => app.get(IntrospectionService).circuitState;

  it('JWT-shaped junk (oidc-provider: 400 unsupported_token_type) gets 401 invalid_token, is negatively cached, and never opens the breaker', async () => {
    const valid = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    for (let i = 0; i < 10; i++) {
      const res = await call(`${url}/orders`, { authorization: `Bearer eyJhbGciOiJub25lIn0.eyJ9.x${i}` });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(
        /error="invalid_token", error_description="The authorization server does not accept this access token."/,
      );
    }
    expect(as.introspectionRequests).toBe(10);
    expect((await call(`${url}/orders`, { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJ9.x3' })).status).toBe(401);
    expect(as.introspectionRequests).toBe(10); // negative cache
    expect(breaker()).toBe('closed');
    expect((await call(`${url}/orders`, { authorization: `Bearer ${valid}` })).status).toBe(200);
  });

  it('a flood of distinct junk tokens against a slow AS: no junk is ever let in (fail-open included), the breaker stays closed, cached valid tokens keep working', async () => {
    const cached = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/orders`, { authorization: `Bearer ${cached}` })).status).toBe(200);
    proxy.delayMs = 150;
    await proxy.setMode('delay');
    try {
      const junk = (i: number) => {
        const route = ['orders', 'orders/open', 'feed'][i % 3]; // fail-closed, fail-open with scopes, fail-open without
        return call(`${url}/${route}`, { authorization: `Bearer ${randomBytes(24).toString('base64url')}` }).then((r) => ({ route, ...r }));
      };
      const flood = Promise.all(Array.from({ length: 300 }, (_, i) => junk(i)));
      await sleep(100);
      const during = await Promise.all(Array.from({ length: 20 }, () => call(`${url}/orders`, { authorization: `Bearer ${cached}` })));
      const results = await flood;

      expect(during.map((r) => r.status)).toEqual(Array(20).fill(200));
      const byStatus: Record<string, number> = {};
      for (const r of results) byStatus[`${r.route} ${r.status}`] = (byStatus[`${r.route} ${r.status}`] ?? 0) + 1;
      // Junk gets 401 when the AS got to answer, 503 `overloaded` when our own queue was full — never 200.
      expect(results.filter((r) => r.status === 200)).toEqual([]);
      expect(results.every((r) => r.status === 401 || r.status === 503)).toBe(true);
      expect(results.filter((r) => r.status === 503).every((r) => /overloaded/.test(r.body.message) && /^\d+$/.test(r.headers.get('retry-after') ?? ''))).toBe(
        true,
      );
      expect(byStatus['orders 503'] ?? 0).toBeGreaterThan(0); // the flood did overload us
      expect(breaker()).toBe('closed');
    } finally {
      await proxy.setMode('ok');
    }
    const fresh = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/orders`, { authorization: `Bearer ${fresh}` })).status).toBe(200);
  });
  it('a flood from one client address cannot starve new valid tokens from another: waiting lookups are served round-robin between clients', async () => {
    proxy.delayMs = 150;
    await proxy.setMode('delay');
    let flooding = true;
    const junkStatuses: number[] = [];
    try {
      const flood = Promise.all(
        Array.from({ length: 60 }, async () => {
          while (flooding) junkStatuses.push(await getFrom('127.0.0.2', `${url}/orders`, `Bearer ${randomBytes(24).toString('base64url')}`));
        }),
      );
      await sleep(300); // the queue is full of the flood by now
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const token = await as.issueToken({ scope: 'read' });
        statuses.push(await getFrom('127.0.0.1', `${url}/orders`, `Bearer ${token}`));
        await sleep(100);
      }
      flooding = false;
      await flood;
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(junkStatuses.filter((s) => s === 503).length).toBeGreaterThan(0); // the flood did fill the queue
      expect(junkStatuses.every((s) => s === 401 || s === 503)).toBe(true);
      expect(breaker()).toBe('closed');
    } finally {
      flooding = false;
      await proxy.setMode('ok');
    }
  });
});

describe.each(ADAPTERS)('429 with Retry-After over %s', (adapter) => {
  let server: FaultyServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    server = await FaultyServer.start(behave.status(429, { 'retry-after': '30' }));
    ({ app, url } = await startApp(adapter, {
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'secret',
      exposeOutageReason: true, // the 503 bodies name their reason (development option), asserted below
      resilience: { circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 1000 } },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('one call to the AS; every client gets 503 with the same remaining Retry-After, never a short circuit_open hint', async () => {
    const responses = [];
    for (let i = 0; i < 12; i++) {
      responses.push(await call(`${url}/orders`, { authorization: `Bearer client-${i}-token` }));
      await sleep(50);
    }
    expect(server.requests).toBe(1);
    const hints = responses.map((r) => Number(r.headers.get('retry-after')));
    expect(responses.every((r) => r.status === 503)).toBe(true);
    expect(Math.max(...hints)).toBe(30);
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(29);
    expect(responses.some((r) => /circuit_open/.test(r.body.message))).toBe(false);
  });

  it('an absurd Retry-After is capped (resilience.maxRetryAfterSeconds, default 300 s)', async () => {
    server.behaviour = behave.status(429, { 'retry-after': '86400000' });
    // Still within the first hold-off: wait for a new one by using a fresh app.
    const other = await startApp(adapter, { introspectionEndpoint: server.url, allowInsecureRequests: true, clientId: 'api', clientSecret: 'secret' });
    try {
      const res = await call(`${other.url}/orders`, { authorization: 'Bearer some-token' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('300');
    } finally {
      await other.app.close();
    }
  });
});
