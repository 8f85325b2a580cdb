import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Req, type INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Introspected, IntrospectionService, OptionalToken, OutagePolicy, type ActiveIntrospectionResult } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { sleep } from '../support/engine.js';
import { CollectingReader, sum } from '../support/metrics.js';

type Seen = { user?: unknown; introspectionOutage?: unknown };

function seen(principal: ActiveIntrospectionResult | undefined, req: Seen) {
  return { clientId: principal?.client_id ?? null, stale: principal?.stale === true, user: req.user !== undefined, outage: req.introspectionOutage ?? null };
}

@Controller('catalogue')
@OptionalToken()
class CatalogueController {
  @Get()
  list(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return seen(principal, req);
  }

  @Get('strict')
  @OptionalToken({ onOutage: 'fail-closed' })
  strict(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return seen(principal, req);
  }

  @Get('stale')
  @OutagePolicy('serve-stale')
  stale(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return seen(principal, req);
  }
}

const ANONYMOUS = { clientId: null, stale: false, user: false, outage: null };

/** `@OptionalToken()` when the authorization server cannot answer, and under a flood of junk tokens. */
describe.each(ADAPTERS)('@OptionalToken() routes during outages and floods over %s (real oidc-provider behind a chaos proxy)', (adapter) => {
  let as: TestAuthorizationServer;
  let proxy: ChaosProxy;
  let app: INestApplication;
  let url: string;
  const reader = new CollectingReader();
  const breaker = () => app.get(IntrospectionService).circuitState;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    proxy = await ChaosProxy.start(as.issuer);
    ({ app, url } = await startApp(
      adapter,
      {
        introspectionEndpoint: proxy.url('/token/introspection'),
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        exposeOutageReason: true,
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
        cache: { ttlSeconds: 1, staleIfErrorSeconds: 60 },
        resilience: {
          attemptTimeoutMs: 1000,
          deadlineMs: 1000,
          retries: 1,
          retryInitialDelayMs: 10,
          retryMaxDelayMs: 50,
          maxConcurrentCalls: 4,
          maxQueuedCalls: 20,
          circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 },
        },
      },
      [CatalogueController],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await as?.stop();
  });

  /** Runs `during` with the AS unreachable, then brings it back and waits for the breaker to let lookups through. */
  async function outage(during: () => Promise<void>): Promise<void> {
    await proxy.setMode('down');
    try {
      await during();
    } finally {
      await proxy.setMode('ok');
    }
    await sleep(400); // halfOpenAfterMs
    const fresh = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/catalogue`, { authorization: `Bearer ${fresh}` })).body.clientId).toBe(CLIENTS.app.clientId);
  }

  it('AS down: a sent token runs the handler anonymously with request.introspectionOutage set (the default), never with a principal', async () => {
    const valid = await as.issueToken({ scope: 'read' });
    const before = await sum(reader, 'token_introspection.guard.decisions', { decision: 'fail_open' });
    await outage(async () => {
      for (const token of [valid, 'a-junk-token', valid, valid]) {
        const res = await call(`${url}/catalogue`, { authorization: `Bearer ${token}` });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          ...ANONYMOUS,
          outage: { reason: expect.stringMatching(/^(connection_failed|circuit_open)$/), retryAfterSeconds: expect.any(Number) },
        });
        expect(res.headers.get('www-authenticate')).toBeNull();
      }
      expect(breaker()).toBe('open');
      // Without a token nothing is asked: an ordinary anonymous request, no outage to report.
      expect((await call(`${url}/catalogue`)).body).toEqual(ANONYMOUS);
    });
    expect(await sum(reader, 'token_introspection.guard.decisions', { decision: 'fail_open' })).toBe(before + 4);
  });

  it("onOutage: 'fail-closed': 503 with Retry-After while the AS is down; without a token the handler still runs anonymously", async () => {
    const valid = await as.issueToken({ scope: 'read' });
    await outage(async () => {
      const res = await call(`${url}/catalogue/strict`, { authorization: `Bearer ${valid}` });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
      expect((await call(`${url}/catalogue/strict`)).body).toEqual(ANONYMOUS);
    });
  });

  it("@OutagePolicy('serve-stale'): the last known principal, flagged stale, while the AS is down; a token without a stale answer runs anonymously", async () => {
    const known = await as.issueToken({ scope: 'read' });
    const unknown = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/catalogue/stale`, { authorization: `Bearer ${known}` })).body).toMatchObject({ clientId: CLIENTS.app.clientId, stale: false });
    await sleep(1100); // past the cache's freshness (1 s)
    await outage(async () => {
      const stale = await call(`${url}/catalogue/stale`, { authorization: `Bearer ${known}` });
      expect(stale.status).toBe(200);
      expect(stale.body).toEqual({ clientId: CLIENTS.app.clientId, stale: true, user: true, outage: null });
      const fresh = await call(`${url}/catalogue/stale`, { authorization: `Bearer ${unknown}` });
      expect(fresh.status).toBe(200);
      expect(fresh.body).toMatchObject({ clientId: null, user: false, outage: { reason: expect.any(String) } });
    });
  });

  it('a flood of junk tokens on an optional route never trips the breaker nor lets junk in: valid users keep their principal, anonymous requests keep working', async () => {
    const cached = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/catalogue`, { authorization: `Bearer ${cached}` })).body.clientId).toBe(CLIENTS.app.clientId);
    proxy.delayMs = 150;
    await proxy.setMode('delay');
    try {
      const flood = Promise.all(
        Array.from({ length: 300 }, () => call(`${url}/catalogue`, { authorization: `Bearer ${randomBytes(24).toString('base64url')}` })),
      );
      await sleep(100);
      const valid = await Promise.all(Array.from({ length: 20 }, () => call(`${url}/catalogue`, { authorization: `Bearer ${cached}` })));
      const anonymous = await Promise.all(Array.from({ length: 20 }, () => call(`${url}/catalogue`)));
      const junk = await flood;

      expect(valid.map((r) => [r.status, r.body.clientId])).toEqual(Array(20).fill([200, CLIENTS.app.clientId]));
      expect(anonymous.map((r) => r.status)).toEqual(Array(20).fill(200));
      // Junk gets 401 when the AS got to answer, 503 `overloaded` when our own queue was full (no outage to run
      // anonymously through: a flood must not turn into 200s) — never 200.
      expect(junk.filter((r) => r.status === 200)).toEqual([]);
      expect(junk.every((r) => r.status === 401 || (r.status === 503 && /overloaded/.test(r.body.message)))).toBe(true);
      expect(junk.some((r) => r.status === 503)).toBe(true); // the flood did overload us
      expect(breaker()).toBe('closed');
    } finally {
      await proxy.setMode('ok');
    }
    const fresh = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/catalogue`, { authorization: `Bearer ${fresh}` })).body.clientId).toBe(CLIENTS.app.clientId);
  }, 30_000);
});
