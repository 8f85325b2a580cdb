import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { ADAPTERS, call, type AdapterName } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { issueSessionJwt, startBackchannelJwtApp } from '../support/backchannel.js';
import { sleep } from '../support/engine.js';

const AUDIENCE = 'urn:jwt:orders';

/**
 * Back-channel logout (sub + sid) vs JWT access tokens without `sid` (oidc-provider's): the logged-out user's
 * sessionless JWTs issued up to the logout are refused (see test/push/adversarial/backchannel-logout-jwt.spec.ts) — and no more than that:
 * another user's JWTs, and the same user's JWTs issued after the logout, keep passing.
 */
describe.each(ADAPTERS)('back-channel logout reaches sessionless JWTs, and only those (%s)', (adapter: AdapterName) => {
  let as: TestAuthorizationServer;
  let app: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await startBackchannelJwtApp(adapter, as, AUDIENCE, { clockSkewSeconds: 0 });
  });
  afterAll(async () => {
    await app?.app.close();
    await as?.stop();
  });

  const provider = () => (as as unknown as { provider: any }).provider;
  const jwtSessionToken = (accountId: string) => issueSessionJwt(as, AUDIENCE, accountId);
  const status = async (token: string) => (await call(`${app.url}/orders`, { authorization: `Bearer ${token}` })).status;

  it("refuses the logged-out user's JWT; another user's JWT and a JWT issued after the logout pass", async () => {
    const user = `user-${randomUUID().slice(0, 8)}`;
    const session = await jwtSessionToken(user);
    const other = await jwtSessionToken(`other-${randomUUID().slice(0, 8)}`);
    expect(decodeJwt(session.token).sid).toBeUndefined();
    expect(await status(session.token)).toBe(200);
    expect(await status(other.token)).toBe(200);
    const client = await provider().Client.find(CLIENTS.web.clientId);
    await client.backchannelLogout(session.accountId, session.sid);
    await sleep(50);
    expect(await status(session.token)).toBe(401);
    expect(await status(other.token)).toBe(200);
    await sleep(1100); // iat has a one-second grain
    const later = await jwtSessionToken(user); // a new login of the same user
    expect(await status(later.token)).toBe(200);
  });
});
