import { afterEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { IntrospectionService } from '../../lib/index.js';
import { ADAPTERS } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { GATEWAYS, gateways, identityOf, startDecisionApp } from '../support/forward-auth.js';

const EDGE = 'https://edge.example';
const ORDERS = 'https://orders.internal';
const BILLING = 'https://billing.internal';

/**
 * Phantom tokens at the edge: the decision's 200 carries `Authorization: Bearer <JWT>` (what Traefik's
 * authResponseHeaders, Envoy's allowed_upstream_headers and nginx's auth_request_set copy upstream), minted by the
 * phantom-token service and verifiable with the JWKS the application publishes.
 */
describe.each(ADAPTERS)('forward-auth phantom tokens at the edge over %s', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await as?.stop();
  });

  async function setup(originalRequest: 'x-forwarded' | 'x-original' | 'path' = 'x-forwarded') {
    as = await TestAuthorizationServer.start();
    const started = await startDecisionApp(
      adapter,
      { ...introspectionAt(as), phantom: { issuer: EDGE, audiences: [ORDERS, BILLING] }, phantomJwksPath: '.well-known/phantom-jwks.json' },
      { originalRequest, upstreamToken: {}, locations: [{ prefix: '/billing', audience: BILLING }] },
    );
    apps.push(started.app);
    const jwks = createRemoteJWKSet(new URL(`${started.url}/.well-known/phantom-jwks.json`));
    return { ...started, as, jwks };
  }

  it.each(GATEWAYS)('asked as %s: the 200 carries a phantom JWT that verifies against the published JWKS', async (gateway, originalRequest) => {
    const { as, decision, jwks } = await setup(originalRequest);
    const token = await as.issueToken({ scope: 'read', claims: { sub: 'user-1' } });
    const res = await gateways[gateway](decision, { uri: '/orders', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const [scheme, jwt] = String(res.headers.authorization).split(' ');
    expect(scheme).toBe('Bearer');
    expect(jwt).not.toContain(token);
    const { payload, protectedHeader } = await jwtVerify(jwt, jwks, { issuer: EDGE, audience: ORDERS, typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'user-1', client_id: CLIENTS.app.clientId, scope: 'read' });
    expect(protectedHeader.alg).toBe('ES256');
  });

  it("a location's audience: the phantom token is minted for it", async () => {
    const { as, decision, jwks } = await setup();
    const token = await as.issueToken({ scope: 'read' });
    const res = await gateways.traefik(decision, { uri: '/billing/invoices', headers: { authorization: `Bearer ${token}` } });
    const jwt = String(res.headers.authorization).slice('Bearer '.length);
    await expect(jwtVerify(jwt, jwks, { issuer: EDGE, audience: BILLING })).resolves.toBeDefined();
    await expect(jwtVerify(jwt, jwks, { issuer: EDGE, audience: ORDERS })).rejects.toThrow();
  });

  it('after evict(): 401 invalid_token and no phantom token (none minted from a revoked token)', async () => {
    const { as, decision, app } = await setup();
    const token = await as.issueToken({ scope: 'read' });
    const ask = () => gateways.nginx(decision, { uri: '/orders', headers: { authorization: `Bearer ${token}` } });
    expect((await ask()).headers.authorization).toMatch(/^Bearer /);
    await as.revoke(token);
    await app.get(IntrospectionService).evict(token);
    const res = await ask();
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect(identityOf(res)).toEqual({});
  });

  it('a refusal (missing token, missing scope) carries no phantom token', async () => {
    const { decision } = await setup();
    const res = await gateways.traefik(decision, { uri: '/orders' });
    expect(res.status).toBe(401);
    expect(res.headers.authorization).toBeUndefined();
  });

  it('during an outage: 503 with Retry-After, no phantom token', async () => {
    const { as, decision } = await setup();
    const token = await as.issueToken({ scope: 'read' });
    await as.stop();
    const res = await gateways.traefik(decision, { uri: '/orders', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.headers.authorization).toBeUndefined();
  });
});
