import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Req, type INestApplication } from '@nestjs/common';
import { Introspected, IntrospectionService, OptionalToken, type ActiveIntrospectionResult } from '../../../lib/index.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { httpCall } from '../../support/raw-http.js';

const TOKEN = 'opaque-token-known-everywhere';

@Controller('orders')
class OrdersController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { tenant: token.introspectionTenant ?? null, sub: token.sub ?? null };
  }

  @Get('optional')
  @OptionalToken()
  optional(@Req() req: { user?: ActiveIntrospectionResult }) {
    return { user: req.user?.introspectionTenant ?? null };
  }
}

/** An AS that knows TOKEN and, to try to spoof the library's field, answers with its own `tenant` claim. */
const spoofing = behave.json({ active: true, sub: 'alice', tenant: 'other', exp: Math.floor(Date.now() / 1000) + 3600 });

/**
 * A function resolver (x-probe header says what it does) and a header resolver, attacked with what a client controls.
 * Every unplaceable request must be 401 with no call to any AS; a 429ing tenant must not affect another.
 */
describe.each(ADAPTERS)('adversarial: tenant resolvers fed hostile requests over %s', (adapter) => {
  let ok: FaultyServer;
  let other: FaultyServer;
  let limited: FaultyServer;
  let app: INestApplication;
  let url: string;
  const calls = () => ok.requests + other.requests + limited.requests;
  const get = (path: string, headers: Record<string, string | string[]>) =>
    httpCall(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });

  beforeAll(async () => {
    ok = await FaultyServer.start(spoofing);
    other = await FaultyServer.start(spoofing);
    limited = await FaultyServer.start(behave.status(429, { 'retry-after': '30' }));
    const stub = (endpoint: string) => ({ introspectionEndpoint: endpoint, clientId: 'api', clientSecret: 'api-secret' });
    const probes: Record<string, () => unknown> = {
      throws: () => {
        throw new Error('resolver bug');
      },
      number: () => 42,
      object: () => ({ toString: () => 'ok' }),
      proto: () => '__proto__',
      ctor: () => 'constructor',
      promise: async () => 'ok',
      unknown: () => 'nobody',
      ok: () => 'ok',
      other: () => 'other',
      limited: () => 'limited',
    };
    ({ app, url } = await startApp(
      adapter,
      {
        tenants: { ok: stub(ok.url), other: stub(other.url), limited: stub(limited.url) },
        tenantResolver: (req: { headers: Record<string, unknown> }) => probes[String(req.headers['x-probe'])]?.() as string | undefined,
        allowInsecureRequests: true,
        resilience: { retries: 0, attemptTimeoutMs: 500, deadlineMs: 1000, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
      },
      [OrdersController],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([ok?.stop(), other?.stop(), limited?.stop()]);
  });

  it('a resolver that throws, returns a non-string, an inherited property name or an unknown name: 401 invalid_token, no AS call', async () => {
    const before = calls();
    for (const probe of ['throws', 'number', 'object', 'proto', 'ctor', 'promise', 'unknown', 'missing']) {
      const res = await get('/orders', { 'x-probe': probe });
      expect({ probe, status: res.status, challenge: /invalid_token/.test(String(res.headers['www-authenticate'])) }).toEqual({
        probe,
        status: 401,
        challenge: true,
      });
    }
    expect(calls()).toBe(before);
  });

  it("the result's tenant is the library's, never the AS's own `tenant` claim", async () => {
    const res = await get('/orders', { 'x-probe': 'ok' });
    expect({ status: res.status, body: JSON.parse(res.body) }).toEqual({ status: 200, body: { tenant: 'ok', sub: 'alice' } });
  });

  it('@OptionalToken(): a token sent to an unplaceable tenant is 401 (not anonymous); no token runs anonymously', async () => {
    expect((await get('/orders/optional', { 'x-probe': 'unknown' })).status).toBe(401);
    const anonymous = await httpCall(`${url}/orders/optional`, { headers: { 'x-probe': 'unknown' } });
    expect({ status: anonymous.status, body: JSON.parse(anonymous.body) }).toEqual({ status: 200, body: { user: null } });
  });

  it('a tenant whose AS answers 429 (Retry-After 30) gets 503 for itself only: the other tenants answer 200 with closed breakers', async () => {
    for (let i = 0; i < 4; i++) expect((await get('/orders', { 'x-probe': 'limited' })).status).toBe(503);
    const service = app.get(IntrospectionService);
    const calledLimited = limited.requests;
    expect((await get('/orders', { 'x-probe': 'limited' })).status).toBe(503);
    expect(limited.requests).toBe(calledLimited); // the Retry-After pause holds at that tenant
    await service.evict(TOKEN, { tenant: 'other' });
    expect((await get('/orders', { 'x-probe': 'other' })).status).toBe(200);
    expect([service.tenant('ok').circuitState, service.tenant('other').circuitState]).toEqual(['closed', 'closed']);
  });

  it("evictBySubject at one tenant drops only that tenant's entries for the subject", async () => {
    await get('/orders', { 'x-probe': 'ok' });
    await get('/orders', { 'x-probe': 'other' });
    const before = [ok.requests, other.requests];
    await app.get(IntrospectionService).evictBySubject('alice', { tenant: 'ok' });
    await get('/orders', { 'x-probe': 'ok' });
    await get('/orders', { 'x-probe': 'other' });
    expect([ok.requests - before[0], other.requests - before[1]]).toEqual([1, 0]);
  });
});
