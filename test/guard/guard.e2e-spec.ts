import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { capturedLogs, sleep } from '../support/engine.js';

describe.each(ADAPTERS)('TokenGuard over %s with a real authorization server', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  let full: string; // token with read write admin
  let readOnly: string;

  const issued: string[] = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    // Remember every token this suite obtains, to check the logs for leaks at the end.
    const issue = as.issueToken.bind(as);
    as.issueToken = async (request) => {
      const token = await issue(request);
      issued.push(token);
      return token;
    };
    ({ app, url } = await startApp(adapter, {
      ...introspectionAt(as),
      realm: 'orders',
      cache: { ttlSeconds: 1, staleIfErrorSeconds: 60 },
      resilience: {
        attemptTimeoutMs: 300,
        deadlineMs: 1500,
        retries: 1,
        retryInitialDelayMs: 10,
        retryMaxDelayMs: 50,
        circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 500 },
        retryAfterSeconds: 7,
      },
    }));
    full = await as.issueToken({ scope: 'read write admin' });
    readOnly = await as.issueToken({ scope: 'read' });
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
    // Every log line of the whole scenario run (outage and IdP restart included): no token, no secret.
    const everything = capturedLogs.join('\n');
    expect(issued.length).toBeGreaterThanOrEqual(5);
    expect(capturedLogs.some((l) => l.includes('Authorization server unavailable'))).toBe(true); // the outage was logged
    for (const token of issued) expect(everything).not.toContain(token);
    expect(everything).not.toContain(CLIENTS.basic.clientSecret);
    expect(everything).not.toContain('garbage-token');
  });

  it('@Public() route: 200 without a token and without calling the AS', async () => {
    as.resetCounters();
    const res = await call(`${url}/public`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hello: 'world' });
    expect(as.introspectionRequests).toBe(0);
  });

  it('no Authorization header: 401 with a bare Bearer challenge (realm, no error code)', async () => {
    const res = await call(`${url}/orders`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders"');
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect(res.body.message).toMatch(/Authorization: Bearer/);
  });

  it.each([
    ['Basic', 'Basic YXBpOnNlY3JldA=='],
    ['Digest', 'Digest username="api", realm="orders"'],
    ['a bare scheme name', 'Negotiate'],
  ])('another authentication scheme (%s): 401 with a bare Bearer challenge, no error code (RFC 6750 §3.1), no call to the AS', async (_name, authorization) => {
    as.resetCounters();
    const res = await call(`${url}/orders`, { authorization });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders"');
    expect(as.introspectionRequests).toBe(0);
  });

  it.each([
    ['no token', 'Bearer'],
    ['two tokens', 'Bearer abc def'],
    ['characters outside b64token', 'Bearer abc$def'],
    ['a token longer than maxTokenLength', `Bearer ${'a'.repeat(4097)}`],
  ])('malformed header (%s): 400 invalid_request, no call to the AS', async (_name, authorization) => {
    as.resetCounters();
    const res = await call(`${url}/orders`, { authorization });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders", error="invalid_request", error_description="[^"]+"$/);
    expect(res.body).toMatchObject({ statusCode: 400 });
    expect(as.introspectionRequests).toBe(0);
  });

  it('valid token: 200, the result is on request.user and injectable with @Introspected()', async () => {
    const res = await call(`${url}/orders`, { authorization: `Bearer ${full}` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: CLIENTS.app.clientId, scopes: ['read', 'write', 'admin'], sameAsUser: true });
    const scheme = await call(`${url}/orders`, { authorization: `bEaReR ${full}` });
    expect(scheme.status).toBe(200);
  });

  it('a token in the query string or the body is not accepted: 401 without calling the AS', async () => {
    as.resetCounters();
    expect((await call(`${url}/orders?access_token=${full}`)).status).toBe(401);
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ access_token: full }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="orders"');
    expect(as.introspectionRequests).toBe(0);
  });

  it('scopes: class + handler both apply (403 insufficient_scope with the required scopes)', async () => {
    expect((await call(`${url}/orders`, { method: 'POST', authorization: `Bearer ${full}` })).status).toBe(201);
    const res = await call(`${url}/orders`, { method: 'POST', authorization: `Bearer ${readOnly}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope"/);
    expect(res.headers.get('www-authenticate')).toMatch(/scope="read write"/);
    expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
  });

  it('any-of scopes: one of them is enough; none is 403', async () => {
    expect((await call(`${url}/orders/any`, { authorization: `Bearer ${full}` })).status).toBe(200);
    const res = await call(`${url}/orders/any`, { authorization: `Bearer ${readOnly}` });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(/error="insufficient_scope".*scope="admin write"/);
  });

  it('unknown token: 401 invalid_token', async () => {
    const res = await call(`${url}/orders`, { authorization: 'Bearer not-a-real-token' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="orders", error="invalid_token", error_description="The access token is not active/);
  });

  it('revoked token: 401 once evicted (or once its cache entry expires)', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
    await as.revoke(token);
    await app.get(IntrospectionService).evict(token);
    expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('expired token: 401 invalid_token', async () => {
    // 3 s: the first call must reach the AS before the token expires there, even on a loaded machine.
    const token = await as.issueToken({ scope: 'read', ttlSeconds: 3 });
    expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
    await sleep(3100);
    const res = await call(`${url}/orders`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('AS down: 503 + Retry-After (fail-closed), stale result (serve-stale), no principal (fail-open); then recovery', async () => {
    // Warm the cache for the serve-stale route, then let freshness (1 s) pass.
    expect((await call(`${url}/orders/stale`, { authorization: `Bearer ${full}` })).body).toEqual({ stale: false });
    await sleep(1100);
    await as.stop();

    const closed = await call(`${url}/orders`, { authorization: `Bearer ${full}` });
    expect(closed.status).toBe(503);
    expect(closed.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(closed.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(closed.headers.get('www-authenticate')).toBeNull();

    const stale = await call(`${url}/orders/stale`, { authorization: `Bearer ${full}` });
    expect(stale.status).toBe(200);
    expect(stale.body).toEqual({ stale: true });
    // serve-stale without a cached result is still a 503.
    expect((await call(`${url}/orders/stale`, { authorization: `Bearer ${readOnly}x` })).status).toBe(503);

    const open = await call(`${url}/feed`, { authorization: `Bearer ${readOnly}` });
    expect(open.status).toBe(200);
    expect(open.body.user).toBeNull();
    expect(open.body.outage).toMatchObject({ reason: expect.any(String), retryAfterSeconds: expect.any(Number) });
    // fail-open never grants a route that requires scopes: nothing to check them against.
    const scoped = await call(`${url}/orders/open`, { authorization: `Bearer ${readOnly}` });
    expect(scoped.status).toBe(503);
    expect(scoped.headers.get('retry-after')).toMatch(/^\d+$/);

    // The breaker is open by now: 503s without calling the AS, with the time until the next probe.
    expect(app.get(IntrospectionService).circuitState).toBe('open');
    const fast = await call(`${url}/orders`, { authorization: `Bearer ${full}` });
    expect(fast.status).toBe(503);
    // The body tells an anonymous caller only that the token cannot be verified now and when to retry, not why.
    expect(fast.body.message).toBe(`The authorization server cannot verify the access token right now; retry after ${fast.headers.get('retry-after')} s.`);

    // A garbage token still gets a 503, never a 401, while the AS cannot answer.
    expect((await call(`${url}/orders`, { authorization: 'Bearer garbage-token' })).status).toBe(503);

    await as.restart(); // same port, every token forgotten (in-memory IdP)
    await sleep(600); // halfOpenAfterMs
    const fresh = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/orders`, { authorization: `Bearer ${fresh}` })).status).toBe(200);
    // The pre-restart token died with the IdP's memory: 401 once its cache entry is gone.
    expect((await call(`${url}/orders`, { authorization: `Bearer ${full}` })).status).toBe(401);
  });
});
