import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { renewalPoint } from '../../lib/client/own-access-token.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';

describe('renewal point of the API’s own token', () => {
  it.each([
    [3600, 3535],
    [300, 236],
    [30, 20.8],
    [5, 2.8],
    [1, 0.4],
  ])('a %d s token is renewed after %d s, while still usable', (lifetime, renewAfter) => {
    const { refreshAfterMs, usableForMs } = renewalPoint(lifetime * 1000);
    expect(refreshAfterMs).toBeCloseTo(renewAfter * 1000);
    expect(usableForMs).toBeGreaterThan(refreshAfterMs);
    expect(usableForMs).toBeLessThan(lifetime * 1000);
  });
});

/** client_credentials_bearer with short-lived own tokens (oidc-provider issues every client-credentials token with this lifetime). */
describe.each(ADAPTERS)('client_credentials_bearer with a short own-token lifetime over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    await as?.stop();
  });

  async function setup(tokenTtlSeconds: number) {
    as = await TestAuthorizationServer.start({ tokenTtlSeconds });
    const started = await startApp(adapter, {
      introspectionEndpoint: as.bearerIntrospectionEndpoint,
      tokenEndpoint: as.tokenEndpoint,
      allowInsecureRequests: true,
      clientAuthMethod: 'client_credentials_bearer',
      clientId: CLIENTS.bearer.clientId,
      clientSecret: CLIENTS.bearer.clientSecret,
      cache: false, // every request introspects: each one would show a needless renewal
    });
    app = started.app;
    return { as, url: started.url };
  }

  it('30 s lifetime: one own token for many lookups, concurrent first lookups share one fetch', async () => {
    const { as, url } = await setup(30);
    const token = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    const first = await Promise.all(Array.from({ length: 20 }, () => call(`${url}/orders`, { authorization: `Bearer ${token}` })));
    expect(first.map((r) => r.status)).toEqual(Array(20).fill(200));
    for (let i = 0; i < 20; i++) expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(as.tokenRequests).toBe(1);
    expect(as.bearerIntrospectionRejections).toBe(0);
  });

  it('5 s lifetime: renewed about once per lifetime in the background, never per lookup, and never used expired', async () => {
    const { as, url } = await setup(5);
    let userToken = await as.issueToken({ scope: 'read' });
    let userTokenRequests = 0;
    as.resetCounters();
    const started = Date.now();
    let lookups = 0;
    while (Date.now() - started < 5000) {
      if (lookups % 20 === 19) {
        userToken = await as.issueToken({ scope: 'read' }); // user tokens live 5 s too
        userTokenRequests++;
      }
      const burst = await Promise.all(Array.from({ length: 5 }, () => call(`${url}/orders`, { authorization: `Bearer ${userToken}` })));
      expect(burst.map((r) => r.status)).toEqual(Array(5).fill(200));
      lookups++;
      await sleep(50);
    }
    const ownTokenFetches = as.tokenRequests - userTokenRequests;
    // 5 s of traffic, renewal after ≈ 2.8 s: the first token plus one renewal (one more at most, with scheduling noise).
    expect(ownTokenFetches).toBeGreaterThanOrEqual(2);
    expect(ownTokenFetches).toBeLessThanOrEqual(3);
    expect(as.bearerIntrospectionRejections).toBe(0);
  });
});
