import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Introspected, IntrospectionHealthIndicator, IntrospectionService, type ActiveIntrospectionResult, type TokenRejectedEvent } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { behave, FaultyServer } from '../support/faulty-server.js';
import { freePort } from '../support/free-port.js';
import { CollectingReader, points, sum } from '../support/metrics.js';

const OPAQUE_AUDIENCE = 'https://orders.example';
const JWT_AUDIENCE = 'urn:jwt:orders';
const SHARED_TOKEN = 'the-same-token-string-at-two-tenants';

@Controller(':tenant/orders')
class TenantOrdersController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { tenant: token.introspectionTenant ?? null, sub: token.sub ?? null, claim: token.tenant ?? null };
  }
}

/**
 * An introspection endpoint that knows SHARED_TOKEN (as `sub`) and nothing else. Its answer carries a `tenant` claim of
 * its own (kept as it is) and tries to name the tenant itself (`introspectionTenant`: replaced by the library).
 */
const knows = (sub: string) => (req: Parameters<ReturnType<typeof behave.json>>[0], res: Parameters<ReturnType<typeof behave.json>>[1], body: string) =>
  behave.json(
    new URLSearchParams(body).get('token') === SHARED_TOKEN
      ? { active: true, sub, scope: 'read', exp: Math.floor(Date.now() / 1000) + 600, tenant: 'claim-of-the-as', introspectionTenant: 'a' }
      : { active: false },
  )(req, res, body);

/**
 * Several authorization servers behind one API (`tenants`): two real oidc-providers with different issuers and signing
 * keys (opaque and JWT access tokens), two introspection endpoints that know the same token string, and one that is down.
 */
describe.each(ADAPTERS)('tenants over %s (real oidc-providers, each tenant isolated)', (adapter) => {
  let asA: TestAuthorizationServer;
  let asB: TestAuthorizationServer;
  let knowsA: FaultyServer;
  let knowsB: FaultyServer;
  let app: INestApplication;
  let url: string;
  const rejected: TokenRejectedEvent[] = [];
  const reader = new CollectingReader();
  const introspections = () => [asA.introspectionRequests, asB.introspectionRequests, knowsA.requests, knowsB.requests];
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const forged = (iss: string) =>
    asB.signWithServerKey(
      {
        iss,
        sub: 'mallory',
        aud: JWT_AUDIENCE,
        scope: 'read',
        client_id: CLIENTS.app.clientId,
        jti: randomUUID(),
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 600,
      },
      'at+jwt',
    );

  beforeAll(async () => {
    asA = await TestAuthorizationServer.start();
    asB = await TestAuthorizationServer.start();
    // The embedded servers share one signing key until rotated: B signs with a key of its own from now on.
    await asB.rotateSigningKey();
    knowsA = await FaultyServer.start(knows('alice-at-a'));
    knowsB = await FaultyServer.start(knows('alice-at-b'));
    const as = (server: TestAuthorizationServer) => ({
      issuer: server.issuer,
      ...CLIENTS.basic,
      audience: [OPAQUE_AUDIENCE, JWT_AUDIENCE],
      jwt: { mode: 'local' as const },
    });
    const stub = (endpoint: string) => ({ introspectionEndpoint: endpoint, clientId: 'api', clientSecret: 'api-secret' });
    ({ app, url } = await startApp(
      adapter,
      {
        tenants: {
          a: as(asA),
          b: as(asB),
          sa: stub(knowsA.url),
          sb: stub(knowsB.url),
          down: stub(`http://127.0.0.1:${await freePort()}/introspect`),
        },
        tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b', '/sa/': 'sa', '/sb/': 'sb', '/down/': 'down' }, jwtIssuer: true },
        allowInsecureRequests: true,
        resilience: { retries: 0, attemptTimeoutMs: 500, deadlineMs: 1000, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
        events: { onTokenRejected: (event) => void rejected.push(event) },
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
      },
      [TenantOrdersController],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([asA?.stop(), asB?.stop(), knowsA?.stop(), knowsB?.stop()]);
  });

  it("each tenant accepts its own authorization server's tokens, and the principal says which tenant accepted it", async () => {
    const opaque = await asA.issueToken({ scope: 'read', resource: OPAQUE_AUDIENCE });
    expect(await call(`${url}/a/orders`, bearer(opaque))).toMatchObject({ status: 200, body: { tenant: 'a' } });
    const jwt = await asB.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    expect(await call(`${url}/b/orders`, bearer(jwt))).toMatchObject({ status: 200, body: { tenant: 'b' } });
  });

  it("tenant A's tokens on tenant B's path get 401: A's JWT without a call to B's introspection endpoint, A's opaque token on B's answer", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    const opaque = await asA.issueToken({ scope: 'read', resource: OPAQUE_AUDIENCE });
    asA.resetCounters();
    asB.resetCounters();
    const refused = await call(`${url}/b/orders`, bearer(jwt));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect([asA.introspectionRequests, asB.introspectionRequests]).toEqual([0, 0]);
    expect((await call(`${url}/b/orders`, bearer(opaque))).status).toBe(401);
    expect([asA.introspectionRequests, asB.introspectionRequests]).toEqual([0, 1]);
  });

  it('the same token string at two tenants is two cache entries, each answered by its own authorization server', async () => {
    expect(await call(`${url}/sa/orders`, bearer(SHARED_TOKEN))).toMatchObject({
      status: 200,
      body: { tenant: 'sa', sub: 'alice-at-a', claim: 'claim-of-the-as' },
    });
    expect(await call(`${url}/sb/orders`, bearer(SHARED_TOKEN))).toMatchObject({ status: 200, body: { tenant: 'sb', sub: 'alice-at-b' } });
    expect(await call(`${url}/sa/orders`, bearer(SHARED_TOKEN))).toMatchObject({ body: { sub: 'alice-at-a' } });
    expect(await call(`${url}/sb/orders`, bearer(SHARED_TOKEN))).toMatchObject({ body: { sub: 'alice-at-b' } });
    expect([knowsA.requests, knowsB.requests]).toEqual([1, 1]);
  });

  it("evicting a token at one tenant leaves the other tenant's entry for the same string alone", async () => {
    const before = [knowsA.requests, knowsB.requests];
    await app.get(IntrospectionService).evict(SHARED_TOKEN, { tenant: 'sa' });
    expect((await call(`${url}/sa/orders`, bearer(SHARED_TOKEN))).status).toBe(200);
    expect((await call(`${url}/sb/orders`, bearer(SHARED_TOKEN))).status).toBe(200);
    expect([knowsA.requests - before[0], knowsB.requests - before[1]]).toEqual([1, 0]);
  });

  it("one tenant's authorization server down: 503 and an open breaker there only, the other tenants answer 200, readiness degraded and says which", async () => {
    const token = await asA.issueToken({ scope: 'read', resource: OPAQUE_AUDIENCE });
    for (let i = 0; i < 3; i++) expect((await call(`${url}/down/orders`, bearer(token))).status).toBe(503);
    const service = app.get(IntrospectionService);
    expect([service.tenant('down').circuitState, service.tenant('a').circuitState]).toEqual(['open', 'closed']);
    expect(await call(`${url}/a/orders`, bearer(token))).toMatchObject({ status: 200, body: { tenant: 'a' } });
    expect(await sum(reader, 'token_introspection.circuit_breaker.transitions', { tenant: 'down', state: 'open' })).toBe(1);
    const health = await app.get(IntrospectionHealthIndicator).probe();
    // `health.readiness: 'any'` (default): one tenant's outage leaves the API in rotation for the others.
    expect(health.status).toBe('degraded');
    expect(health.tenants?.down.status).toBe('down');
    expect(health.tenants?.a.status).toMatch(/^(up|degraded)$/);
  });

  it("a JWT whose unverified iss names tenant A but is signed with tenant B's key gets 401; A's real JWT picks A by its iss", async () => {
    expect((await call(`${url}/jwt/orders`, bearer(await forged(asA.issuer)))).status).toBe(401);
    const real = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    expect(await call(`${url}/jwt/orders`, bearer(real))).toMatchObject({ status: 200, body: { tenant: 'a' } });
  });

  it('a JWT naming an unconfigured issuer, or an opaque token on a path that names no tenant, gets 401 before any lookup', async () => {
    const before = introspections();
    const forgedElsewhere = await call(`${url}/jwt/orders`, bearer(await forged('https://evil.example')));
    expect(forgedElsewhere.status).toBe(401);
    expect(forgedElsewhere.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await call(`${url}/nowhere/orders`, bearer(SHARED_TOKEN))).status).toBe(401);
    expect(introspections()).toEqual(before);
    expect(rejected.filter((event) => event.reason === 'unknown_tenant')).toHaveLength(2);
  });

  it("the guard's decisions are counted per tenant; a request placed at no tenant is counted without one", async () => {
    const decisions = (labels: Record<string, string>) => sum(reader, 'token_introspection.guard.decisions', labels);
    expect(await decisions({ tenant: 'a', decision: 'allowed' })).toBeGreaterThan(0);
    expect(await decisions({ tenant: 'sb', decision: 'allowed' })).toBeGreaterThan(0);
    expect(await decisions({ tenant: 'b', decision: 'invalid' })).toBeGreaterThan(0);
    expect(await decisions({ tenant: 'down', decision: 'unavailable' })).toBe(3);
    expect(await decisions({ decision: 'invalid', reason: 'unknown_tenant' })).toBe(2);
    const unplaced = (await points(reader, 'token_introspection.guard.decisions')).filter((point) => point.attributes.reason === 'unknown_tenant');
    expect(unplaced.map((point) => point.attributes.tenant)).toEqual([undefined]);
  });
});
