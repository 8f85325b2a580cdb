import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { IntrospectionModule } from '../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from './support/app.js';
import { CLIENTS, JWT_RESOURCE_PREFIX, TestAuthorizationServer } from './support/authorization-server.js';
import { ChaosProxy } from './support/chaos-proxy.js';
import { capturedLogs } from './support/engine.js';

/**
 * Adversarial review of issue 23 (items 1–8). Each test here FAILS on issue23-review at 067ea9f and names a
 * defect; real oidc-provider, real HTTP over both adapters, a real loopback proxy.
 */
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const AUDIENCE = 'https://orders.example.com';

describe.each(ADAPTERS)('review issue 23, over %s', (adapter) => {
  let as: TestAuthorizationServer;
  const stops: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await as?.stop();
  });
  beforeEach(() => {
    capturedLogs.length = 0;
  });

  /**
   * Items 3/6: the "can never be met" diagnosis is built from whatever active tokens callers present. Anyone who
   * holds any token of the same AS (one issued for another API, or for no resource: oidc-provider puts no `aud`
   * in those) sends five of them right after a deploy, and the operator is told, at ERROR level, to remove
   * `audience` — although the AS does put `aud` in every token meant for this API.
   */
  it('five aud-less tokens of other APIs do not make the server advise removing `audience` (the AS sends aud for this API)', async () => {
    const { app, url } = await startApp(adapter, { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, audience: AUDIENCE });
    stops.push(() => app.close());
    for (let i = 0; i < 5; i++) {
      const foreign = await as.issueToken({ scope: 'read' }); // active at the AS, no aud: not for this API
      expect((await call(`${url}/orders`, bearer(foreign))).status).toBe(401);
    }
    // The AS does send aud for tokens meant for this API: the requirement is met.
    const mine = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    expect((await call(`${url}/orders`, bearer(mine))).status).toBe(200);
    const advice = capturedLogs.filter((l) => l.includes('can never be met'));
    expect(advice).toEqual([]);
  });

  /**
   * Item 8: a 503 body for an anonymous caller says only that the token cannot be verified now. The logout-token
   * receiver (public by nature: anyone can POST to it) answers 503 with the internal cause: the discovery URLs,
   * the internal host and port of the AS, that `issuer` is misconfigured, and what to change.
   */
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
    const logoutToken = await new SignJWT({ iss: issuer, aud: CLIENTS.web.clientId, iat: now, exp: now + 60, jti: randomUUID(), sub: 'x', events: { 'http://schemas.openid.net/event/backchannel-logout': {} } })
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
});

/**
 * Item 4: a configuration failure is "retried at a bounded, slow pace, not once per request". The configuration
 * gate guards only the introspection call; the key fetch of JWT validation (`jwt` with keys from discovery) and
 * of logout tokens resolves the same misconfigured discovery on its own, once per request, without the gate:
 * every anonymous request carrying any JWT-shaped string costs the AS two discovery requests.
 */
describe.each(ADAPTERS)('review issue 23: discovery mistakes on the key path, over %s', (adapter) => {
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
