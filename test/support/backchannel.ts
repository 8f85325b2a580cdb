import { randomUUID } from 'node:crypto';
import { IntrospectionModule, type IntrospectionModuleOptions } from '../../lib/index.js';
import { OrdersController, startApp, type AdapterName } from './app.js';
import { CLIENTS, type TestAuthorizationServer } from './authorization-server.js';

/**
 * An API validating the AS's JWTs (for `audience`) locally, with a back-channel logout receiver the AS is pointed at
 * (`oidc/backchannel-logout`, this replica only), plus `extra` options; OrdersController only.
 */
export async function startBackchannelJwtApp(
  adapter: AdapterName,
  as: TestAuthorizationServer,
  audience: string,
  extra: Partial<IntrospectionModuleOptions> = {},
) {
  const app = await startApp(
    adapter,
    IntrospectionModule.forRoot({
      issuer: as.issuer,
      ...CLIENTS.basic,
      allowInsecureRequests: true,
      audience,
      ...extra,
      jwt: { mode: 'local', maxTokenLifetimeSeconds: 3600 },
      cache: { localTtlSeconds: 60, ttlSeconds: 60 },
      backchannelLogout: { audience: CLIENTS.web.clientId, maxAgeSeconds: 60 },
      backchannelLogoutReceiver: { path: 'oidc/backchannel-logout', scope: 'this-replica' },
    }),
    [OrdersController],
  );
  as.setBackchannelLogoutUri(`${app.url}/oidc/backchannel-logout`);
  return app;
}

/**
 * A JWT access token of a user session (a fresh `sid`), stored as oidc-provider's authorization-code flow stores it
 * (grant of 'openid read' to CLIENTS.web, 'read' for `audience`, 600 s). oidc-provider puts no `sid` in the JWT.
 */
export async function issueSessionJwt(as: TestAuthorizationServer, audience: string, accountId: string) {
  const provider = (as as unknown as { provider: any }).provider;
  const client = await provider.Client.find(CLIENTS.web.clientId);
  const grant = new provider.Grant({ accountId, clientId: CLIENTS.web.clientId });
  grant.addOIDCScope('openid read');
  grant.addResourceScope(audience, 'read');
  const grantId = await grant.save();
  const sid = randomUUID();
  const at = new provider.AccessToken({ accountId, client, grantId, scope: 'read', sid, gty: 'authorization_code', aud: audience });
  at.resourceServer = { audience, accessTokenFormat: 'jwt', scope: 'read', accessTokenTTL: 600 };
  const token: string = await at.save();
  return { token, accountId, sid, grantId };
}
