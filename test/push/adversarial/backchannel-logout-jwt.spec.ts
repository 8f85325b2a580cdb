// Adversarial review of back-channel logout and local JWTs (round 16a; was attack16a-bcl-jwt).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { ADAPTERS, call, type AdapterName } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { issueSessionJwt, startBackchannelJwtApp } from '../../support/backchannel.js';
import { sleep } from '../../support/engine.js';

const AUDIENCE = 'urn:jwt:orders';

/**
 * Review 16a, finding F1: back-channel logout does not log a user out of locally validated JWT access tokens.
 * oidc-provider's JWT access tokens carry no `sid` (lib/models/formats/jwt.js), while its logout tokens carry
 * `sub` AND `sid` (backchannel_logout_session_required). The receiver evicts by `sid` only when a `sid` is present
 * (`jwt.revokeBy('sid', …)`), so the JWT of the logged-out session keeps passing until its `exp`.
 */
describe.each(ADAPTERS)('back-channel logout vs JWT access tokens (%s)', (adapter: AdapterName) => {
  let as: TestAuthorizationServer;
  let app: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await startBackchannelJwtApp(adapter, as, AUDIENCE);
  });
  afterAll(async () => {
    await app?.app.close();
    await as?.stop();
  });

  /** A JWT access token of a user session, stored as oidc-provider's authorization-code flow stores it. */
  const jwtSessionToken = (accountId: string) => issueSessionJwt(as, AUDIENCE, accountId);

  it('the real oidc-provider logs the session out (logout token with sub+sid): its JWT access token is refused', async () => {
    const session = await jwtSessionToken(`user-${randomUUID().slice(0, 8)}`);
    expect(decodeJwt(session.token).sid).toBeUndefined(); // the premise: oidc-provider's JWT has no sid
    expect((await call(`${app.url}/orders`, { authorization: `Bearer ${session.token}` })).status).toBe(200);
    const provider = (as as unknown as { provider: any }).provider;
    await (await provider.Grant.find(session.grantId))?.destroy();
    const client = await provider.Client.find(CLIENTS.web.clientId);
    await client.backchannelLogout(session.accountId, session.sid); // rejects unless the receiver answered 200
    await sleep(50);
    // Current code: 200 — the logged-out session's JWT keeps working until exp.
    expect((await call(`${app.url}/orders`, { authorization: `Bearer ${session.token}` })).status).toBe(401);
  });
});
