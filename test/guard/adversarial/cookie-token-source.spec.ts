// Adversarial review of the cookie token source (round 17b; was attack17b-cookie).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS, startApp } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';

/**
 * Review 17b, token sources: cookie edge cases over both adapters.
 * FINDING (low): an EMPTY cookie (`access_token=`, what many logout handlers leave behind instead of expiring it) counts
 * as a token source: with the Authorization header the request is 400 "exactly one place", and alone it is 400
 * instead of 401 — the client never gets the challenge that starts its login flow.
 */
describe.each(ADAPTERS)('cookie token source edge cases over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(adapter, {
      ...introspectionAt(as),
      tokenSources: [{ in: 'header' }, { in: 'cookie', name: '__Host-access_token' }],
    }));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });
  const get = (headers: Record<string, string>) => fetch(`${url}/orders`, { headers }).then((r) => r.status);

  it('an empty leftover cookie does not block the Authorization header, and alone is 401 (missing), not 400', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect({
      headerWithEmptyCookie: await get({ authorization: `Bearer ${token}`, cookie: '__Host-access_token=; theme=dark' }),
      emptyCookieAlone: await get({ cookie: '__Host-access_token=' }),
    }).toEqual({ headerWithEmptyCookie: 200, emptyCookieAlone: 401 });
  });

  it('quoted value accepted; URL-encoded, ;-injected, prefix-confused and duplicate cookies refused without an AS call', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect(await get({ cookie: `theme=dark; __Host-access_token="${token}"` })).toBe(200);
    as.resetCounters();
    expect(await get({ cookie: `__Host-access_token=${encodeURIComponent(token + '/=')}%00` })).toBe(400);
    expect(await get({ cookie: `__Host-access_token=${token}; __host-access_token=${token}` })).toBe(200); // other name (case): ignored
    expect(await get({ cookie: `__Host-access_token=${token}; __Host-access_token=${token}` })).toBe(400);
    expect(await get({ cookie: `access_token=${token}` })).toBe(401); // the unprefixed (tossable) name is not read
    expect(await get({ cookie: `x=1;__Host-access_token=a b` })).toBe(400);
    expect(await get({ cookie: Array.from({ length: 500 }, (_, i) => `c${i}=v`).join('; ') + `; __Host-access_token=${'x'.repeat(9000)}` })).toBe(400);
    expect(as.introspectionRequests).toBe(0); // the accepted case-variant request was a cache hit; nothing else reached the AS
  });
});
