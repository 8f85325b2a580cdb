import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { Introspected, type ActiveIntrospectionResult } from '../../../lib/index.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { httpCall } from '../../support/raw-http.js';

const JWT_AUDIENCE = 'urn:jwt:orders';
const MAIN_TOKEN = 'an-opaque-token-of-the-main-tenant';

/** Tenant B's own route (a literal path: the handler serves tenant B's data). */
@Controller('b/orders')
class BOrdersController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { route: 'b', tenant: token.introspectionTenant ?? null };
  }
}

@Controller('api/partners/orders')
class PartnersOrdersController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { route: 'partners', tenant: token.introspectionTenant ?? null };
  }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * The path-prefix resolver reads the raw path (case-sensitive, not decoded) while the HTTP router matches it
 * case-insensitively (Express) or percent-decoded (Fastify): a request the router sends to tenant B's handler can be
 * placed at another tenant by the resolver.
 */
describe.each(ADAPTERS)('adversarial: path-prefix resolver vs the router over %s', (adapter) => {
  let asA: TestAuthorizationServer;
  let asB: TestAuthorizationServer;
  let main: FaultyServer;
  let partners: FaultyServer;
  let jwtApp: INestApplication;
  let jwtUrl: string;
  let nestedApp: INestApplication;
  let nestedUrl: string;

  beforeAll(async () => {
    asA = await TestAuthorizationServer.start();
    asB = await TestAuthorizationServer.start();
    await asB.rotateSigningKey();
    const as = (server: TestAuthorizationServer) => ({ issuer: server.issuer, ...CLIENTS.basic, audience: JWT_AUDIENCE, jwt: { mode: 'local' as const } });
    ({ app: jwtApp, url: jwtUrl } = await startApp(
      adapter,
      { tenants: { a: as(asA), b: as(asB) }, tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b' }, jwtIssuer: true }, allowInsecureRequests: true },
      [BOrdersController],
    ));
    const knows = (token: string) => (req: Parameters<ReturnType<typeof behave.json>>[0], res: Parameters<ReturnType<typeof behave.json>>[1], body: string) =>
      behave.json(
        new URLSearchParams(body).get('token') === token ? { active: true, sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 } : { active: false },
      )(req, res, body);
    main = await FaultyServer.start(knows(MAIN_TOKEN));
    partners = await FaultyServer.start(knows('nothing-the-main-tenant-has'));
    const stub = (endpoint: string) => ({ introspectionEndpoint: endpoint, clientId: 'api', clientSecret: 'api-secret' });
    ({ app: nestedApp, url: nestedUrl } = await startApp(
      adapter,
      {
        tenants: { main: stub(main.url), partners: stub(partners.url) },
        // Longest prefix wins (docs/tenants.md): '/api/partners/' is the partners' area inside the main API.
        tenantResolver: { pathPrefix: { '/api/': 'main', '/api/partners/': 'partners' } },
        allowInsecureRequests: true,
      },
      [PartnersOrdersController],
    ));
  });
  afterAll(async () => {
    await jwtApp?.close();
    await nestedApp?.close();
    await Promise.all([asA?.stop(), asB?.stop(), main?.stop(), partners?.stop()]);
  });

  it("tenant A's JWT never reaches tenant B's handler through a path variant the router maps to B's route (/B/, /%62/)", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    // Sanity: the plain path is refused (B's keys refuse A's token).
    expect((await httpCall(`${jwtUrl}/b/orders`, { headers: bearer(jwt) })).status).toBe(401);
    const outcomes: Record<string, string> = {};
    for (const path of [
      '/B/orders',
      '/%62/orders',
      '/b/orders/',
      '/%42/orders',
      '//b/orders',
      '/a/../b/orders',
      '/a/%2e%2e/b/orders',
      '/b;x/orders',
      '/x/..%2fb/orders',
    ]) {
      const res = await httpCall(`${jwtUrl}${path}`, { headers: bearer(jwt) });
      outcomes[path] = `${res.status} ${res.status === 200 ? res.body : ''}`.trim();
    }
    // Promise (docs/tenants.md status table): "Tenant A's JWT on tenant B's path: 401". Never a 200 from B's handler.
    expect(Object.entries(outcomes).filter(([, outcome]) => outcome.startsWith('200'))).toEqual([]);
  });

  it("with nested prefixes, the main tenant's token never reaches the partners' handler through a path variant (/api/Partners/, /api/%70artners/)", async () => {
    expect((await httpCall(`${nestedUrl}/api/partners/orders`, { headers: bearer(MAIN_TOKEN) })).status).toBe(401);
    const outcomes: Record<string, string> = {};
    for (const path of ['/api/Partners/orders', '/api/%70artners/orders', '/api/PARTNERS/orders']) {
      const res = await httpCall(`${nestedUrl}${path}`, { headers: bearer(MAIN_TOKEN) });
      outcomes[path] = `${res.status} ${res.status === 200 ? res.body : ''}`.trim();
    }
    expect(Object.entries(outcomes).filter(([, outcome]) => outcome.startsWith('200'))).toEqual([]);
  });
});
