import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import type { AuthorizationServerResetEvent } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { capturedLogs, sleep } from '../support/engine.js';

describe.each(ADAPTERS)('client_credentials_bearer and IdP restarts over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    await as?.stop();
  });

  async function setup(purge: boolean) {
    as = await TestAuthorizationServer.start();
    const resets: AuthorizationServerResetEvent[] = [];
    const started = await startApp(adapter, {
      introspectionEndpoint: as.bearerIntrospectionEndpoint,
      tokenEndpoint: as.tokenEndpoint,
      allowInsecureRequests: true,
      clientAuthMethod: 'client_credentials_bearer',
      clientId: CLIENTS.bearer.clientId,
      clientSecret: CLIENTS.bearer.clientSecret,
      purgeCacheOnAuthorizationServerReset: purge,
      events: { onAuthorizationServerReset: (e) => resets.push(e) },
    });
    app = started.app;
    return { as, url: started.url, resets };
  }
  const get = (url: string, token: string) => call(`${url}/orders`, { authorization: `Bearer ${token}` });

  it('obtains its own token once and reuses it', async () => {
    const { as, url } = await setup(false);
    const tokens = await Promise.all([1, 2, 3].map(() => as.issueToken({ scope: 'read' })));
    as.resetCounters();
    for (const t of tokens) expect((await get(url, t)).status).toBe(200);
    expect(as.tokenRequests).toBe(1); // our own token, fetched once
    expect(as.bearerIntrospectionRequests).toBe(3);
    expect(as.bearerIntrospectionRejections).toBe(0);
  });

  it('after an IdP restart: re-fetches its token once, new user tokens work with one extra round trip; without purge, old tokens linger in cache', async () => {
    const { as, url, resets } = await setup(false);
    const before = await as.issueToken({ scope: 'read' });
    expect((await get(url, before)).status).toBe(200);

    await as.restart(); // in-memory: our own token and every user token are gone
    const after = await as.issueToken({ scope: 'read' });
    as.resetCounters();
    expect((await get(url, after)).status).toBe(200);
    expect(as.bearerIntrospectionRequests).toBe(2); // refused once, retried once
    expect(as.bearerIntrospectionRejections).toBe(1);
    expect(as.tokenRequests).toBe(1); // one re-fetch of our own token
    expect(resets).toEqual([{ tokenAgeMs: expect.any(Number), purgedCache: false }]);
    expect(capturedLogs.some((l) => l.includes('probably lost its state'))).toBe(true);

    as.resetCounters();
    const next = await as.issueToken({ scope: 'read' });
    expect((await get(url, next)).status).toBe(200);
    expect(as.bearerIntrospectionRequests).toBe(1);
    expect(as.tokenRequests - 1).toBe(0); // only the user token issuance above
    // The pre-restart token is still served from cache until its entry expires (the default).
    expect((await get(url, before)).status).toBe(200);
  });

  it('with purgeCacheOnAuthorizationServerReset: a pre-restart token stops being accepted', async () => {
    const { as, url, resets } = await setup(true);
    const before = await as.issueToken({ scope: 'read' });
    expect((await get(url, before)).status).toBe(200);
    await as.restart();
    const after = await as.issueToken({ scope: 'read' });
    expect((await get(url, after)).status).toBe(200);
    await sleep(50); // the purge runs right after the reset is detected
    expect(resets).toEqual([{ tokenAgeMs: expect.any(Number), purgedCache: true }]);
    const res = await get(url, before);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });
});
