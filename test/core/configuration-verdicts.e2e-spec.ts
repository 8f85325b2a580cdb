import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { IntrospectionConfigurationError, IntrospectionHealthIndicator, IntrospectionModule, IntrospectionService } from '../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from '../support/app.js';
import { CLIENTS, JWT_RESOURCE_PREFIX, TestAuthorizationServer } from '../support/authorization-server.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { capturedLogs, sleep } from '../support/engine.js';
import { FaultyServer } from '../support/faulty-server.js';
import { CollectingReader, points } from '../support/metrics.js';

/**
 * Configuration mistakes are named as such, never reported as an outage of the authorization server: the two
 * classic issuer mistakes (a trailing slash, a realm path that does not exist) and a wrong secret give the same
 * kind of answer — a configuration verdict at start-up, the cause in readiness, logs and a metric, no open
 * breaker, a slow retry pace instead of one call per request, and 503 with a generic body to clients.
 * Real oidc-provider behind a counting loopback proxy; real HTTP over both adapters.
 */
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const GENERIC = /^The authorization server cannot verify the access token right now; retry after \d+ s\.$/;

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms; logs:\n${capturedLogs.join('\n')}`);
    await sleep(20);
  }
}

describe.each(ADAPTERS)('configuration mistakes, over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let proxy: ChaosProxy;
  let token: string;
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    proxy = await ChaosProxy.start(as.issuer);
    token = await as.issueToken({ scope: 'read' });
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await proxy?.stop();
    await as?.stop();
  });
  beforeEach(() => {
    capturedLogs.length = 0;
  });

  const mistakes = [
    {
      name: 'an issuer with a trailing slash',
      reason: 'discovery_misconfigured',
      options: () => ({ issuer: `${proxy.url('')}/`, ...CLIENTS.basic }),
      cause: /not '.*\/'/,
    },
    {
      name: 'a realm path that does not exist',
      reason: 'discovery_misconfigured',
      options: () => ({ issuer: proxy.url('/realms/nope'), ...CLIENTS.basic }),
      cause: /answered 404/,
    },
    {
      name: 'a wrong client secret',
      reason: 'client_authentication_failed',
      options: () => ({ introspectionEndpoint: proxy.url('/token/introspection'), clientId: CLIENTS.basic.clientId, clientSecret: 'not-the-secret' }),
      cause: /client credentials/,
    },
  ];

  it.each(mistakes)(
    '$name: a verdict at start-up, the cause in readiness, logs and a metric, no open breaker, slow retries, 503 with a generic body',
    async ({ reason, options, cause }) => {
      const reader = new CollectingReader();
      const before = proxy.requests;
      const { app, url } = await startApp(adapter, {
        ...options(),
        allowInsecureRequests: true,
        verifyOnStartup: true,
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
        resilience: { retries: 1, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
      });
      stops.push(() => app.close());
      await until(() => capturedLogs.some((l) => l.includes('Start-up check')));
      const verdict = capturedLogs.find((l) => l.includes('Start-up check'))!;
      expect(verdict).toContain(`MISCONFIGURED (${reason})`);
      expect(verdict).toMatch(cause);
      const afterStartup = proxy.requests;

      const responses = [];
      for (let i = 0; i < 10; i++) responses.push(await call(`${url}/orders`, bearer(token)));
      for (const res of responses) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(res.body.message).toMatch(GENERIC); // nothing about our credentials or our state for anonymous callers
      }
      // Never counted by the breaker; not one call per request (the first hold is 2 s).
      expect(app.get(IntrospectionService).circuitState).toBe('closed');
      expect(proxy.requests - afterStartup).toBeLessThanOrEqual(2);
      expect(afterStartup - before).toBeGreaterThan(0);

      const health = await app.get(IntrospectionHealthIndicator).isHealthy('as');
      expect(health.as).toMatchObject({ status: 'down', breaker: 'closed', reason });
      expect(String(health.as.message)).toMatch(cause);
      expect(capturedLogs.some((l) => l.includes(`Configuration error (${reason}`))).toBe(true);
      expect(capturedLogs.some((l) => /circuit_open|keeps failing|Circuit breaker OPEN/.test(l))).toBe(false);
      const gauge = await points(reader, 'token_introspection.configuration_error');
      expect(gauge.map((p) => [p.value, p.attributes['error.type']])).toEqual([[1, reason]]);
    },
  );

  // The logout-token receiver is public by nature (anyone can POST to it): its 503 names no internals either.
  it('the back-channel logout receiver does not tell an anonymous caller the configuration error (503 body is generic)', async () => {
    const proxy = await ChaosProxy.start(as.issuer);
    stops.push(() => proxy.stop());
    const issuer = proxy.url('/realms/nope'); // the classic wrong realm path: discovery_misconfigured
    const { app, url } = await startApp(
      adapter,
      IntrospectionModule.forRoot({
        issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        verifyOnStartup: false,
        backchannelLogout: { audience: CLIENTS.web.clientId, maxAgeSeconds: 60 },
        backchannelLogoutReceiver: { path: 'oidc/backchannel-logout', scope: 'this-replica' },
      }),
      [OrdersController],
    );
    stops.push(() => app.close());
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const logoutToken = await new SignJWT({
      iss: issuer,
      aud: CLIENTS.web.clientId,
      iat: now,
      exp: now + 60,
      jti: randomUUID(),
      sub: 'x',
      events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'k', typ: 'logout+jwt' })
      .sign(privateKey);
    const res = await fetch(`${url}/oidc/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logoutToken }).toString(),
    });
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(text).not.toMatch(/well-known|127\.0\.0\.1|issuer|discovery/i);
  });

  it("verifyOnStartup: 'fatal' stops start-up on a configuration verdict, with the cause", async () => {
    await expect(
      startApp(adapter, { issuer: proxy.url('/realms/nope'), ...CLIENTS.basic, allowInsecureRequests: true, verifyOnStartup: 'fatal' }),
    ).rejects.toThrow(IntrospectionConfigurationError);
  });

  it("verifyOnStartup: 'fatal' does not stop start-up when the AS is merely unreachable, and says so", async () => {
    const down = await ChaosProxy.start(as.issuer);
    await down.setMode('down');
    const { app, url } = await startApp(adapter, { issuer: down.url(''), ...CLIENTS.basic, allowInsecureRequests: true, verifyOnStartup: 'fatal' });
    stops.push(
      () => app.close(),
      () => down.stop(),
    );
    expect(capturedLogs.find((l) => l.includes('Start-up check'))).toMatch(/could not be reached.*start-up goes on/s);
    expect((await call(`${url}/public`)).status).toBe(200);
  });

  it('the sample configuration passes the start-up check: one ok verdict', async () => {
    const { app } = await startApp(adapter, { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, verifyOnStartup: true });
    stops.push(() => app.close());
    await until(() => capturedLogs.some((l) => l.includes('Start-up check')));
    expect(capturedLogs.filter((l) => l.includes('Start-up check passed'))).toHaveLength(1);
  });
});

describe.each(ADAPTERS)('configuration failures under attack and after a fix, over %s', (adapter) => {
  it('a refusal that only one token provokes (an AS answering 401 for it) holds nobody else back', async () => {
    const server = await FaultyServer.start((_req, res, body) => {
      const evil = new URLSearchParams(body).get('token') === 'evil-token';
      res.writeHead(evil ? 401 : 200, { 'content-type': 'application/json' }).end(JSON.stringify(evil ? { error: 'invalid_client' } : { active: false }));
    });
    const { app, url } = await startApp(adapter, { introspectionEndpoint: server.url, clientId: 'api', clientSecret: 's', allowInsecureRequests: true });
    try {
      for (let i = 0; i < 5; i++) expect((await call(`${url}/orders`, bearer('evil-token'))).status).toBe(503);
      // The next caller's token is asked at once (401: inactive), not refused with the held failure.
      const requests = server.requests;
      expect((await call(`${url}/orders`, bearer('some-other-token'))).status).toBe(401);
      expect(server.requests).toBe(requests + 1);
    } finally {
      await app.close();
      await server.stop();
    }
  });

  it('a held configuration failure is retried at a slow pace and ends with the first answer after the fix', async () => {
    let fixed = false;
    const server = await FaultyServer.start((_req, res) => {
      res
        .writeHead(fixed ? 200 : 401, { 'content-type': 'application/json' })
        .end(JSON.stringify(fixed ? { active: true, scope: 'read', client_id: 'app', token_type: 'Bearer' } : { error: 'invalid_client' }));
    });
    const { app, url } = await startApp(adapter, {
      introspectionEndpoint: server.url,
      clientId: 'api',
      clientSecret: 's',
      allowInsecureRequests: true,
      exposeOutageReason: true,
    });
    try {
      const first = await call(`${url}/orders`, bearer('t1'));
      expect(first.status).toBe(503);
      expect(first.body.message).toMatch(/client_authentication_failed/); // exposeOutageReason: the development option
      const held = server.requests;
      for (let i = 0; i < 5; i++) expect((await call(`${url}/orders`, bearer(`t${i + 2}`))).status).toBe(503);
      expect(server.requests).toBe(held); // held: no call per request
      fixed = true;
      await sleep(2100); // the first hold
      expect((await call(`${url}/orders`, bearer('t9'))).status).toBe(200);
      expect(capturedLogs.some((l) => l.includes('The configuration error is fixed'))).toBe(true);
    } finally {
      await app.close();
      await server.stop();
    }
  });
});

/**
 * A discovery mistake is held where discovery runs: the key fetch of JWT validation (keys from discovery) and the
 * push receivers wait for the same slow trial as introspection, so no JWT-shaped string costs the AS a discovery.
 */
describe.each(ADAPTERS)('discovery mistakes on the key path, over %s', (adapter) => {
  it('a wrong realm path with JWT validation: the AS is not asked once per request (discovery held like introspection)', async () => {
    const as = await TestAuthorizationServer.start();
    const proxy = await ChaosProxy.start(as.issuer);
    const { app, url } = await startApp(adapter, {
      issuer: proxy.url('/realms/nope'),
      ...CLIENTS.basic,
      allowInsecureRequests: true,
      audience: `${JWT_RESOURCE_PREFIX}orders`,
      jwt: { mode: 'local' },
    });
    try {
      const jwt = await as.issueToken({ scope: 'read', resource: `${JWT_RESOURCE_PREFIX}orders` });
      const before = proxy.requests;
      for (let i = 0; i < 10; i++) {
        const res = await call(`${url}/orders`, bearer(jwt));
        expect(res.status).toBe(503);
      }
      // Introspection of an opaque token under the same mistake: at most a trial every 2 s or more.
      expect(proxy.requests - before).toBeLessThanOrEqual(4);
    } finally {
      await app.close();
      await proxy.stop();
      await as.stop();
    }
  });
});
