// Adversarial review of @OptionalToken() (issue 28 part 2): which AS failures run an optional route anonymously.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Req, type INestApplication } from '@nestjs/common';
import { Introspected, IntrospectionService, OptionalToken, type ActiveIntrospectionResult } from '../../../lib/index.js';
import { ADAPTERS, call, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { FaultyServer } from '../../support/faulty-server.js';

type Seen = { introspectionOutage?: { reason?: string } };

@Controller('catalogue')
@OptionalToken()
class CatalogueController {
  @Get()
  list(@Introspected() principal: ActiveIntrospectionResult | undefined, @Req() req: Seen) {
    return { clientId: principal?.client_id ?? null, outage: req.introspectionOutage?.reason ?? null };
  }
}

/**
 * The docs (guard.md, outages.md) promise: "a 429, our own full queue or a configuration error still answer 503" on an
 * optional route — a 429 is something unauthenticated callers can provoke with a flood of new tokens.
 * FINDING (fixed): a 429 WITHOUT Retry-After feeds the circuit breaker (BREAKER_REASONS has `rate_limited`); once it
 * opened, the reason became `circuit_open`, a fail-open reason: signed-in users' tokens were silently dropped and the
 * handler ran anonymously (200). Now `circuit_open` carries `circuitOpenedBy: 'rate_limited'`, which is no outage: 503.
 * Held: a wrong client secret (401 from the real AS) stays 503 with Retry-After on every request.
 */
describe.each(ADAPTERS)('@OptionalToken() and AS failures that are no outage over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let front: FaultyServer;
  let rateLimit = false;
  let app: INestApplication;
  let url: string;
  let badSecret: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    // In front of the real AS: forwards, or answers 429 without Retry-After (many gateways send none).
    front = await FaultyServer.start(async (req, res, body) => {
      if (rateLimit) {
        res.writeHead(429, { 'content-type': 'application/json' }).end('{"error":"too_many_requests"}');
        return;
      }
      const answer = await fetch(as.introspectionEndpoint, {
        method: 'POST',
        headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '' },
        body,
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
    const resilience = { retries: 0, attemptTimeoutMs: 1000, deadlineMs: 1500, circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 } };
    ({ app, url } = await startApp(
      adapter,
      { introspectionEndpoint: front.url, allowInsecureRequests: true, ...CLIENTS.basic, exposeOutageReason: true, resilience },
      [CatalogueController],
    ));
    badSecret = await startApp(
      adapter,
      { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, clientId: CLIENTS.basic.clientId, clientSecret: 'wrong', resilience },
      [CatalogueController],
    );
  });
  afterAll(async () => {
    await app?.close();
    await badSecret?.app.close();
    await front?.stop();
    await as?.stop();
  });

  it('a wrong client secret (401 from the AS): 503 with Retry-After for every sent token, never the anonymous answer', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await call(`${badSecret.url}/catalogue`, { authorization: `Bearer ${await as.issueToken({ scope: 'read' })}` });
      statuses.push(res.status);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
    expect(statuses).toEqual(Array(6).fill(503));
    expect((await call(`${badSecret.url}/catalogue`)).status).toBe(200);
  });

  it('repeated 429s without Retry-After (a junk flood can provoke them): still 503, never a signed-in user silently run anonymously', async () => {
    const valid = await as.issueToken({ scope: 'read' });
    rateLimit = true;
    try {
      const answers: Array<[number, string | null]> = [];
      // What a junk flood does: new tokens, each one an AS call answered 429.
      for (let i = 0; i < 4; i++) {
        const res = await call(`${url}/catalogue`, { authorization: `Bearer ${randomBytes(24).toString('base64url')}` });
        answers.push([res.status, res.body?.outage ?? null]);
      }
      const user = await call(`${url}/catalogue`, { authorization: `Bearer ${valid}` });
      answers.push([user.status, user.body?.outage ?? null]);
      expect(user.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      // Observed: [503,null] x3, then [200,'circuit_open'] x2 — the breaker opened on 429s.
      expect({ breaker: app.get(IntrospectionService).circuitState, answers }).toEqual({
        breaker: 'open',
        answers: Array(5).fill([503, null]),
      });
    } finally {
      rateLimit = false;
    }
  });
});
