import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { AuthorizationServerUnavailableEvent, CircuitStateChangeEvent, TokenRejectedEvent, TokenValidatedEvent } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { capturedLogs, sleep } from '../support/engine.js';
import { CollectingReader, points, sum } from '../support/metrics.js';

describe.each(ADAPTERS)('metrics, events and logs over %s with a real authorization server', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  let reader: CollectingReader;
  const tokens: string[] = [];
  const validated: TokenValidatedEvent[] = [];
  const rejected: TokenRejectedEvent[] = [];
  const unavailable: AuthorizationServerUnavailableEvent[] = [];
  const breaker: CircuitStateChangeEvent[] = [];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    capturedLogs.length = 0;
    ({ app, url } = await startApp(adapter, {
      ...introspectionAt(as),
      metrics: { meterProvider },
      // A refused attempt weighs 2 lookup-equivalents: two refused lookups (retries 0) open the breaker at 4.
      resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 4, halfOpenAfterMs: 60_000 } },
      events: {
        onTokenValidated: (e) => validated.push(e),
        onTokenRejected: (e) => rejected.push(e),
        onAuthorizationServerUnavailable: (e) => unavailable.push(e),
        onCircuitStateChange: (e) => breaker.push(e),
      },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('N requests with one token: 1 miss + N-1 hits, 1 AS lookup, N allowed decisions', async () => {
    const token = await as.issueToken({ scope: 'read' });
    tokens.push(token);
    const N = 25;
    for (let i = 0; i < N; i++) expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await sum(reader, 'token_introspection.cache.lookups', { result: 'miss' })).toBe(1);
    expect(await sum(reader, 'token_introspection.cache.lookups', { result: 'hit' })).toBe(N - 1);
    expect(await sum(reader, 'token_introspection.lookups', { outcome: 'active' })).toBe(1);
    expect(await sum(reader, 'token_introspection.lookup.duration', { outcome: 'active' })).toBe(1); // histogram count
    expect(await sum(reader, 'token_introspection.guard.decisions', { decision: 'allowed' })).toBe(N);
    expect(await sum(reader, 'token_introspection.lookups.in_flight')).toBe(0);
    expect(validated).toHaveLength(N);
    expect(validated[0]).toMatchObject({
      fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/),
      clientId: CLIENTS.app.clientId,
      scopes: ['read'],
      source: 'authorization-server',
    });
    expect(validated[1].source).toBe('cache');
  });

  it('decisions by reason match the HTTP statuses', async () => {
    const reader1 = await as.issueToken({ scope: 'read' });
    tokens.push(reader1);
    const expectations: Array<[string, number, string, { method?: string; authorization?: string }]> = [
      ['/public', 200, 'public', {}],
      ['/orders', 401, 'missing', {}],
      ['/orders', 400, 'malformed', { authorization: 'Bearer two tokens' }],
      ['/orders', 401, 'invalid', { authorization: 'Bearer unknown-token' }],
      ['/orders', 403, 'insufficient_scope', { method: 'POST', authorization: `Bearer ${reader1}` }],
    ];
    for (const [path, status, decision, init] of expectations) {
      const before = await sum(reader, 'token_introspection.guard.decisions', { decision });
      expect((await call(`${url}${path}`, init)).status).toBe(status);
      expect(await sum(reader, 'token_introspection.guard.decisions', { decision })).toBe(before + 1);
    }
    expect(rejected.map((e) => e.reason)).toEqual(['missing', 'malformed', 'inactive', 'insufficient_scope']);
    expect(rejected[3]).toMatchObject({ fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/), requiredScopes: ['read', 'write'] });
    expect(await sum(reader, 'token_introspection.cache.lookups', { result: 'negative_hit' })).toBe(0);
    expect((await call(`${url}/orders`, { authorization: 'Bearer unknown-token' })).status).toBe(401);
    expect(await sum(reader, 'token_introspection.cache.lookups', { result: 'negative_hit' })).toBe(1);
  });

  it('AS stopped: error lookups by type, unavailable decisions, breaker transition and state gauge, hooks fired', async () => {
    await as.stop();
    for (let i = 0; i < 4; i++) {
      expect((await call(`${url}/orders`, { authorization: `Bearer new-token-${i}` })).status).toBe(503);
    }
    expect(await sum(reader, 'token_introspection.lookups', { outcome: 'error', 'error.type': 'connection_failed' })).toBe(2);
    expect(await sum(reader, 'token_introspection.guard.decisions', { decision: 'unavailable' })).toBe(4);
    expect(await sum(reader, 'token_introspection.circuit_breaker.transitions', { state: 'open' })).toBe(1);
    const [gauge] = await points(reader, 'token_introspection.circuit_breaker.state');
    expect(gauge.value).toBe(2);
    expect(breaker).toEqual([{ state: 'open', previous: 'closed' }]);
    expect(unavailable.length).toBeGreaterThanOrEqual(2);
    expect(unavailable[0]).toMatchObject({ reason: 'connection_failed', fingerprint: expect.stringMatching(/^[0-9a-f]{12}$/) });
    await sleep(10);
  });

  it('no log line and no event payload contains a raw token or the client secret', async () => {
    const everything = capturedLogs.join('\n') + JSON.stringify([validated, rejected, unavailable, breaker]);
    expect(capturedLogs.some((l) => l.includes('Circuit breaker OPEN'))).toBe(true);
    expect(capturedLogs.some((l) => /Authorization server unavailable \(connection_failed\)/.test(l))).toBe(true);
    for (const token of tokens) expect(everything).not.toContain(token);
    expect(everything).not.toContain('new-token-');
    expect(everything).not.toContain(CLIENTS.basic.clientSecret);
  });
});
