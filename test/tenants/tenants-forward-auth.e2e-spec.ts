import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { gateways, startDecisionApp, type OriginalRequest } from '../support/forward-auth.js';

/**
 * The forward-auth decision endpoint in front of several authorization servers (`tenants`): the tenant is picked from
 * the forwarded request (its original path, a header the gateway sets), never from what the client sends of its own.
 */
describe.each(ADAPTERS)('tenants behind the forward-auth decision endpoint over %s (two real oidc-providers)', (adapter) => {
  let asA: TestAuthorizationServer;
  let asB: TestAuthorizationServer;
  let app: INestApplication;
  let decision: string;
  const ask = (original: OriginalRequest) => gateways.nginx(decision, original);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    asA = await TestAuthorizationServer.start();
    asB = await TestAuthorizationServer.start();
    const as = (server: TestAuthorizationServer) => ({ issuer: server.issuer, ...CLIENTS.basic });
    ({ app, decision } = await startDecisionApp(
      adapter,
      {
        tenants: { a: as(asA), b: as(asB) },
        tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b' } },
        allowInsecureRequests: true,
        resilience: { retries: 0, attemptTimeoutMs: 500, deadlineMs: 1000 },
      },
      { originalRequest: 'x-forwarded', upstreamHeaders: { 'X-Auth-Tenant': 'introspectionTenant' } },
    ));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([asA?.stop(), asB?.stop()]);
  });

  it("the original request's path picks the tenant: A's token is allowed on A's path, refused on B's and on a path that names none", async () => {
    const token = await asA.issueToken({ scope: 'read' });
    const allowed = await ask({ uri: '/a/orders', headers: bearer(token) });
    expect([allowed.status, allowed.headers['x-auth-tenant']]).toEqual([200, 'a']);
    asA.resetCounters();
    expect((await ask({ uri: '/b/orders', headers: bearer(token) })).status).toBe(401);
    const nowhere = await ask({ uri: '/orders', headers: bearer(token) });
    expect([nowhere.status, nowhere.headers['www-authenticate']]).toEqual([401, expect.stringMatching(/error="invalid_token"/)]);
    expect(asA.introspectionRequests).toBe(0);
  });
});
