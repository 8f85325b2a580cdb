import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { GATEWAY_HOST, gateways, identityOf, rawRequest, startDecisionApp } from '../../support/forward-auth.js';

/**
 * An attacker's path must never match a weaker location than the one the upstream routes it to, and requirements are
 * never read from the request: a `read` token against an `/admin` location that requires `admin`.
 */
describe.each(ADAPTERS)('forward-auth location matching under attack over %s', (adapter) => {
  let as: TestAuthorizationServer;
  const apps: INestApplication[] = [];
  let traefik: string; // 'x-forwarded'
  let envoy: string; // 'path'
  let read: string;
  const locations = [
    { prefix: '/admin', scopes: ['admin'] },
    { prefix: '/public', public: true },
  ];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    const a = await startDecisionApp(adapter, introspectionAt(as), { locations });
    const b = await startDecisionApp(adapter, introspectionAt(as), { locations, originalRequest: 'path' });
    apps.push(a.app, b.app);
    traefik = a.decision;
    envoy = b.decision;
    read = await as.issueToken({ scope: 'read' });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await as?.stop();
  });
  const bearer = () => ({ authorization: `Bearer ${read}` });

  it.each([
    '/public/../admin',
    '/public/%2e%2e/admin',
    '/public/%2E%2E/admin',
    '/public/..%2fadmin',
    '/public%2f..%2fadmin',
    '/admin%2f..',
    '/public/%252e%252e/admin',
    '//admin',
    '/public//../admin',
    '/public\\..\\admin',
    '/public/./../admin',
  ])('the forwarded URI %s is refused with 400 (never a public or default decision)', async (uri) => {
    const res = await gateways.traefik(traefik, { uri, headers: bearer() });
    expect(res.status).toBe(400);
    expect(identityOf(res)).toEqual({});
  });

  it.each(['/public/../admin', '/public/%2e%2e/admin', '/public/..%2fadmin', '/public/%252e%252e/admin'])(
    'Envoy: the path suffix %s is refused (or not routed): never 200',
    async (suffix) => {
      const res = await rawRequest(envoy, 'GET', new URL(envoy).pathname + suffix, { ...bearer(), host: GATEWAY_HOST });
      expect([400, 404]).toContain(res.status);
      expect(identityOf(res)).toEqual({});
    },
  );

  it.each(['/ADMIN/users', '/Admin', '/%61dmin/users', '/administrator', '/admin?scope=read', '/admin#public'])(
    '%s matches the /admin location (case, encoding, string prefix like the gateways, query ignored): 403',
    async (uri) => {
      const res = await gateways.traefik(traefik, { uri, headers: bearer() });
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toMatch(/insufficient_scope/);
    },
  );

  it('Envoy: /ADMIN and a query naming a scope match the /admin location: 403', async () => {
    for (const suffix of ['/ADMIN/x', '/admin?scope=read&scopes=read']) {
      expect((await rawRequest(envoy, 'GET', new URL(envoy).pathname + suffix, { ...bearer(), host: GATEWAY_HOST })).status).toBe(403);
    }
  });

  it('requirements sent by the client (headers that name scopes) are ignored: still 403', async () => {
    const res = await gateways.traefik(traefik, {
      uri: '/admin',
      headers: { ...bearer(), 'x-auth-required-scopes': 'read', 'x-required-scopes': 'read', 'x-auth-request-scopes': '' },
    });
    expect(res.status).toBe(403);
  });

  it('a client-sent X-Original-URI naming a public path does not move an x-forwarded decision: 403', async () => {
    const res = await gateways.traefik(traefik, { uri: '/admin', headers: { ...bearer(), 'x-original-uri': '/public', 'x-original-method': 'GET' } });
    expect(res.status).toBe(403);
  });

  it('a client-sent X-Forwarded-Uri beside the gateway’s (two values) is refused with 400', async () => {
    const res = await rawRequest(traefik, 'GET', new URL(traefik).pathname, {
      ...bearer(),
      'x-forwarded-uri': ['/public', '/admin'],
    });
    expect(res.status).toBe(400);
  });

  it('without an original URI (a gateway configured without one) the decision is 400, not the default location', async () => {
    const res = await rawRequest(traefik, 'GET', new URL(traefik).pathname, bearer());
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/x-forwarded-uri/);
  });

  it('Envoy: a route that only starts like the decision path is not the decision endpoint (404)', async () => {
    const res = await rawRequest(envoy, 'GET', new URL(envoy).pathname + 'admin', { ...bearer(), host: GATEWAY_HOST });
    expect(res.status).toBe(404);
  });
});
