import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Introspected, IntrospectionHealthIndicator, IntrospectionService, type ActiveIntrospectionResult } from '../../../lib/index.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { freePort } from '../../support/free-port.js';
import { CollectingReader, points } from '../../support/metrics.js';
import { httpCall } from '../../support/raw-http.js';

const JWT_AUDIENCE = 'urn:jwt:orders';

@Controller('orders')
class OrdersController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { tenant: token.introspectionTenant ?? null };
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const unsigned = (iss: string) =>
  `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss, sub: 'mallory', aud: JWT_AUDIENCE, client_id: 'app', scope: 'read', jti: randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })}.`;

/** `host` + `jwtIssuer` over two real oidc-providers (JWTs validated locally), and one tenant whose AS is down. */
describe.each(ADAPTERS)('adversarial: host resolver with jwtIssuer over %s', (adapter) => {
  let asA: TestAuthorizationServer;
  let asB: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  const reader = new CollectingReader();
  const get = (host: string, token: string) => httpCall(`${url}/orders`, { headers: { host, authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    asA = await TestAuthorizationServer.start();
    asB = await TestAuthorizationServer.start();
    await asB.rotateSigningKey();
    const as = (server: TestAuthorizationServer) => ({ issuer: server.issuer, ...CLIENTS.basic, audience: JWT_AUDIENCE, jwt: { mode: 'local' as const } });
    ({ app, url } = await startApp(
      adapter,
      {
        tenants: {
          a: as(asA),
          b: as(asB),
          down: { introspectionEndpoint: `http://127.0.0.1:${await freePort()}/introspect`, clientId: 'x', clientSecret: 'y' },
        },
        tenantResolver: { host: { 'a.example.com': 'a', 'b.example.com': 'b', 'down.example.com': 'down' }, jwtIssuer: true },
        allowInsecureRequests: true,
        resilience: { retries: 0, attemptTimeoutMs: 300, deadlineMs: 600, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
      },
      [OrdersController],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([asA?.stop(), asB?.stop()]);
  });

  it("an unsigned (alg none) JWT naming tenant A's issuer gets 401 and never an introspection call", async () => {
    asA.resetCounters();
    for (const host of ['a.example.com', 'unknown.example.com']) expect((await get(host, unsigned(asA.issuer))).status).toBe(401);
    expect(asA.introspectionRequests).toBe(0);
  });

  it("issuer variants (trailing slash, upper case) of A's issuer select no tenant: 401", async () => {
    for (const iss of [`${asA.issuer}/`, asA.issuer.toUpperCase()]) expect((await get('unknown.example.com', unsigned(iss))).status).toBe(401);
  });

  it("Host with port and upper case picks the tenant; A's JWT on B's host is 401", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    expect((await get('A.Example.COM:8443', jwt)).status).toBe(200);
    expect((await get('b.example.com', jwt)).status).toBe(401);
  });

  it("A's JWT on B's host written with a trailing dot (the same DNS name) is not accepted as tenant A", async () => {
    const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
    const res = await get('b.example.com.', jwt);
    // The request names B's host (FQDN form); the resolver does not match it and falls back to the token's own iss.
    expect({ status: res.status, body: res.status === 200 ? JSON.parse(res.body) : null }).toEqual({ status: 401, body: null });
  });

  it('the breaker-state gauge has a series per tenant, and no unlabelled series that says closed while a tenant is open', async () => {
    for (let i = 0; i < 3; i++) await get('down.example.com', 'opaque-token');
    expect(app.get(IntrospectionService).tenant('down').circuitState).toBe('open');
    const series = (await points(reader, 'token_introspection.circuit_breaker.state')).map((p) => ({ tenant: p.attributes.tenant ?? null, value: p.value }));
    expect(series).toContainEqual({ tenant: 'down', value: 2 });
    expect(series.filter((s) => s.tenant === null)).toEqual([]);
  });

  it("one tenant's AS down does not, by default, make the whole API not ready (a readiness-gated load balancer would cut off tenants a and b too)", async () => {
    const health = await app.get(IntrospectionHealthIndicator).probe();
    expect(health.tenants?.down.status).toBe('down');
    expect(health.status).not.toBe('down');
  });
});
