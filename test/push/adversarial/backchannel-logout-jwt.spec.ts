// Adversarial review of back-channel logout and local JWTs (round 16a; was attack16a-bcl-jwt).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { IntrospectionModule } from '../../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp, type AdapterName } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
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
    app = await startApp(
      adapter,
      IntrospectionModule.forRoot({
        issuer: as.issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        audience: AUDIENCE,
        jwt: { mode: 'local', maxTokenLifetimeSeconds: 3600 },
        cache: { localTtlSeconds: 60, ttlSeconds: 60 },
        backchannelLogout: { audience: CLIENTS.web.clientId, maxAgeSeconds: 60 },
        backchannelLogoutReceiver: { path: 'oidc/backchannel-logout', scope: 'this-replica' },
      }),
      [OrdersController],
    );
    as.setBackchannelLogoutUri(`${app.url}/oidc/backchannel-logout`);
  });
  afterAll(async () => {
    await app?.app.close();
    await as?.stop();
  });

  /** A JWT access token of a user session, stored as oidc-provider's authorization-code flow stores it. */
  async function jwtSessionToken(accountId: string) {
    const provider = (as as unknown as { provider: any }).provider;
    const client = await provider.Client.find(CLIENTS.web.clientId);
    const grant = new provider.Grant({ accountId, clientId: CLIENTS.web.clientId });
    grant.addOIDCScope('openid read');
    grant.addResourceScope(AUDIENCE, 'read');
    const grantId = await grant.save();
    const sid = randomUUID();
    const at = new provider.AccessToken({ accountId, client, grantId, scope: 'read', sid, gty: 'authorization_code', aud: AUDIENCE });
    at.resourceServer = { audience: AUDIENCE, accessTokenFormat: 'jwt', scope: 'read', accessTokenTTL: 600 };
    const token: string = await at.save();
    return { token, accountId, sid, grantId };
  }

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
