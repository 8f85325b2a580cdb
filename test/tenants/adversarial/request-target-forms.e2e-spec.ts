import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import { Introspected, type ActiveIntrospectionResult } from '../../../lib/index.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';

const JWT_AUDIENCE = 'urn:jwt:orders';

/** Tenant B's own routes: the handler serves tenant B's data. */
@Controller('b')
class BController {
  @Get()
  root(@Introspected() token: ActiveIntrospectionResult) {
    return { route: 'b-root', tenant: token.introspectionTenant ?? null };
  }

  @Get('orders')
  orders(@Introspected() token: ActiveIntrospectionResult) {
    return { route: 'b-orders', tenant: token.introspectionTenant ?? null };
  }
}

/** One raw HTTP/1.1 request with the request-target exactly as given (absolute-form, a fragment …). */
function rawTarget(base: string, target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: target, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Round 2: the path-prefix resolver reads `originalUrl`/`url` as a path, but both routers also accept the
 * absolute-form request-target (RFC 9112 §3.2.2, `GET http://host/b/orders`) and cut the path at a `#`. Such a
 * request is routed to tenant B's handler while the resolver finds no prefix — and with `jwtIssuer` falls back to the
 * token's own `iss`: tenant A's JWT is then verified by A and served by B's handler.
 */
describe.each(ADAPTERS)('request-target forms vs the path-prefix resolver over %s', (adapter) => {
  let asA: TestAuthorizationServer;
  let asB: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    asA = await TestAuthorizationServer.start();
    asB = await TestAuthorizationServer.start();
    await asB.rotateSigningKey();
    const as = (server: TestAuthorizationServer) => ({ issuer: server.issuer, ...CLIENTS.basic, audience: JWT_AUDIENCE, jwt: { mode: 'local' as const } });
    ({ app, url } = await startApp(
      adapter,
      { tenants: { a: as(asA), b: as(asB) }, tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b' }, jwtIssuer: true }, allowInsecureRequests: true },
      [BController],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([asA?.stop(), asB?.stop()]);
  });

  it("tenant A's JWT is refused on tenant B's path in origin-form (sanity)", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    expect((await rawTarget(url, '/b/orders', { authorization: `Bearer ${jwt}` })).status).toBe(401);
    expect((await rawTarget(url, '/b', { authorization: `Bearer ${jwt}` })).status).toBe(401);
  });

  it("tenant A's JWT never reaches tenant B's handler through an absolute-form request-target (GET http://host/b/orders)", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    const res = await rawTarget(url, 'http://api.example.com/b/orders', { authorization: `Bearer ${jwt}` });
    // Promise (docs/tenants.md): "Tenant A's JWT on tenant B's path: 401".
    expect(`${res.status} ${res.status === 200 ? res.body : ''}`.trim()).toBe('401');
  });

  it("tenant A's JWT never reaches tenant B's handler through a fragment in the request-target (GET /b#x)", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    const res = await rawTarget(url, '/b#x', { authorization: `Bearer ${jwt}` });
    expect(`${res.status} ${res.status === 200 ? res.body : ''}`.trim()).toBe('401');
  });
});
