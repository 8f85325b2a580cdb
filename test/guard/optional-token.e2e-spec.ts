import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Req, type INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { Introspected, IntrospectionService, OptionalToken, Public, Scopes, type ActiveIntrospectionResult } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { CollectingReader, sum } from '../support/metrics.js';

type Seen = { user?: unknown; introspectionOutage?: unknown };

/** What the handler saw: the principal (`@Introspected()`), whether `request.user` was set, the outage. */
function seen(principal: ActiveIntrospectionResult | undefined, req: Seen) {
  return { clientId: principal?.client_id ?? null, user: req.user !== undefined, sameAsUser: req.user === principal, outage: req.introspectionOutage ?? null };
}

@Controller('catalogue')
@OptionalToken()
class CatalogueController {
  @Get()
  list(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return seen(principal, req);
  }

  /** On the handler itself: its @Scopes() apply to a sent token only (on the controller alone, they would require one). */
  @Get('admin')
  @OptionalToken()
  @Scopes('admin')
  admin(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return seen(principal, req);
  }

  @Get('lenient')
  @OptionalToken({ invalidToken: 'anonymous' })
  lenient(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return seen(principal, req);
  }

  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }
}

/** `@OptionalToken()` over HTTP: no token runs anonymously, a valid one is attached, a refused one gets its RFC 6750 answer. */
describe.each(ADAPTERS)('@OptionalToken() routes over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  const reader = new CollectingReader();
  const decisions = (decision: string) => sum(reader, 'token_introspection.guard.decisions', { decision });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    const meterProvider = new MeterProvider({ readers: [reader] });
    ({ app, url } = await startApp(adapter, { ...introspectionAt(as), realm: 'shop', metrics: { meterProvider } }, [CatalogueController]));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('no token: 200, the handler runs without a principal (request.user unset, @Introspected() undefined), no challenge, no call to the AS', async () => {
    as.resetCounters();
    const before = await decisions('public');
    const res = await call(`${url}/catalogue`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: null, user: false, sameAsUser: true, outage: null });
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(as.introspectionRequests).toBe(0);
    // Counted as a request without a token (`public`), which the SLO does not count as a token-bearing request.
    expect(await decisions('public')).toBe(before + 1);
  });

  it('a valid token: 200 with the principal attached as on a protected route (request.user is the @Introspected() result)', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const res = await call(`${url}/catalogue`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: CLIENTS.app.clientId, user: true, sameAsUser: true, outage: null });
  });

  it('an unknown token: 401 invalid_token with the RFC 6750 challenge, not the anonymous answer', async () => {
    const res = await call(`${url}/catalogue`, { authorization: 'Bearer not-a-token-the-as-issued' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="shop", error="invalid_token", error_description="/);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('a revoked token (revoked at the AS, then evict()): 401 invalid_token', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/catalogue`, { authorization: `Bearer ${token}` })).body.clientId).toBe(CLIENTS.app.clientId);
    await as.revoke(token);
    await app.get(IntrospectionService).evict(token);
    const res = await call(`${url}/catalogue`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('an expired token: 401 invalid_token', async () => {
    const token = await as.issueToken({ scope: 'read', ttlSeconds: 1 });
    await sleep(1100);
    const res = await call(`${url}/catalogue`, { authorization: `Bearer ${token}` });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it.each([
    ['no token after the scheme', 'Bearer'],
    ['two tokens', 'Bearer abc def'],
    ['characters outside b64token', 'Bearer abc$def'],
    ['a header that is no scheme-credentials pair', '"Bearer abc"'],
  ])('malformed credentials (%s): 400 invalid_request, no call to the AS', async (_name, authorization) => {
    as.resetCounters();
    const res = await call(`${url}/catalogue`, { authorization });
    expect(res.status).toBe(400);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="shop", error="invalid_request", error_description="/);
    expect(as.introspectionRequests).toBe(0);
  });

  it('another scheme (Basic): 401 with a bare Bearer challenge (RFC 6750 §3.1), not the anonymous answer', async () => {
    const res = await call(`${url}/catalogue`, { authorization: 'Basic YXBpOnNlY3JldA==' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="shop"');
  });

  it("invalidToken: 'anonymous': unknown, malformed and other-scheme credentials run the handler without a principal; a valid token is still attached", async () => {
    for (const authorization of ['Bearer not-a-token-the-as-issued', 'Bearer abc def', 'Basic YXBpOnNlY3JldA==']) {
      const res = await call(`${url}/catalogue/lenient`, { authorization });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ clientId: null, user: false, sameAsUser: true, outage: null });
      expect(res.headers.get('www-authenticate')).toBeNull();
    }
    const token = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/catalogue/lenient`, { authorization: `Bearer ${token}` })).body.clientId).toBe(CLIENTS.app.clientId);
  });

  it("the route's requirements apply to a sent token: a valid token without the scope gets 403 insufficient_scope; no token runs anonymously", async () => {
    const reader = await as.issueToken({ scope: 'read' });
    const refused = await call(`${url}/catalogue/admin`, { authorization: `Bearer ${reader}` });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="shop", error="insufficient_scope", .*scope="admin"$/);
    const admin = await as.issueToken({ scope: 'read admin' });
    expect((await call(`${url}/catalogue/admin`, { authorization: `Bearer ${admin}` })).body.clientId).toBe(CLIENTS.app.clientId);
    expect((await call(`${url}/catalogue/admin`)).body).toEqual({ clientId: null, user: false, sameAsUser: true, outage: null });
  });

  it("a handler's @Public() is an exception to the controller's @OptionalToken(): a token there is never looked at", async () => {
    as.resetCounters();
    const res = await call(`${url}/catalogue/health`, { authorization: 'Bearer not-a-token-the-as-issued' });
    expect(res.status).toBe(200);
    expect(as.introspectionRequests).toBe(0);
  });

  it('never answers 500 to a fuzzed Authorization header: 200 anonymous, or 400/401 where a bad token is refused', async () => {
    const header = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'Bb e a r$ "=~+/.-_\t,A0'.split('')), maxLength: 40 }),
      fc.constantFrom('Bearer ', 'bearer  ', 'DPoP ', 'Basic ').chain((s) => fc.string({ maxLength: 30 }).map((t) => s + t.replace(/[\r\n\0]/g, ''))),
    );
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(header, fc.boolean(), async (authorization, lenient) => {
        const res = await fetch(`${url}/catalogue${lenient ? '/lenient' : ''}`, { headers: { authorization } });
        await res.arrayBuffer();
        statuses.add(res.status);
        // A DPoP proof that fails is refused even on a lenient route (the client must retry with a good proof).
        const proofChecked = /^dpop\s/i.test(authorization.trim());
        expect(lenient && !proofChecked ? [200] : [200, 400, 401]).toContain(res.status);
      }),
      { numRuns: 150 },
    );
    expect(statuses.has(500)).toBe(false);
  }, 60_000);
});
