import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
// The sample's own readiness/liveness controller, exercised as users would deploy it.
import { HealthController } from '../../sample/health.controller.js';
import { IntrospectionService } from '../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';

const CACHE_MS = 300;
const HALF_OPEN_MS = 800;

describe.each(ADAPTERS)('IntrospectionHealthIndicator through a real Terminus endpoint over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(
      adapter,
      {
        ...introspectionAt(as),
        health: { probeTimeoutMs: 500, cacheMs: CACHE_MS },
        resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: HALF_OPEN_MS } },
      },
      [HealthController, OrdersController],
      [TerminusModule.forRoot({ logger: false })],
    ));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('up while the AS answers, with probe latency and breaker state; probes are cached', async () => {
    as.resetCounters();
    const res = await call(`${url}/health/ready`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.details['authorization-server']).toMatchObject({ status: 'up', breaker: 'closed', latencyMs: expect.any(Number) });
    const started = Date.now();
    for (let i = 0; i < 10; i++) expect((await call(`${url}/health/ready`)).status).toBe(200);
    // One probe per cache window: exactly 1 when the calls fit in one window; a loaded CI machine may spread them over more.
    const windows = 1 + Math.floor((Date.now() - started) / CACHE_MS);
    expect(as.introspectionRequests).toBeLessThanOrEqual(Math.min(windows, 10));
    if (windows === 1) expect(as.introspectionRequests).toBe(1);
  });

  it('down when the AS stops (probes alone never open the breaker), down (circuit_open) once user lookups opened it, up after recovery — the probe closes it', async () => {
    await as.stop();
    await sleep(CACHE_MS + 20);
    const down = await call(`${url}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('error');
    expect(down.body.details['authorization-server']).toMatchObject({ status: 'down', reason: 'connection_failed', breaker: 'closed' });
    await sleep(CACHE_MS + 20);
    await call(`${url}/health/ready`);
    expect(app.get(IntrospectionService).circuitState).toBe('closed');

    // User lookups that fail for AS reasons open it (consecutiveFailures: 2).
    for (const token of ['user-token-1', 'user-token-2']) expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(503);
    await sleep(CACHE_MS + 20);
    const open = await call(`${url}/health/ready`);
    expect(open.status).toBe(503);
    expect(open.body.details['authorization-server']).toMatchObject({ status: 'down', reason: 'circuit_open', breaker: 'open' });

    // Liveness does not depend on the AS.
    expect((await call(`${url}/health/live`)).status).toBe(200);

    await as.restart();
    await sleep(HALF_OPEN_MS + 50);
    // No user traffic needed: the probe itself is the half-open test call that closes the breaker.
    const up = await call(`${url}/health/ready`);
    expect(up.status).toBe(200);
    expect(up.body.details['authorization-server']).toMatchObject({ status: 'up', breaker: 'closed' });
  });
});

describe.each(ADAPTERS)('IntrospectionHealthIndicator with a slow authorization server over %s', (adapter) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('probes that time out report down but never open the breaker shared with users; slower than slowMs is degraded (HTTP 200)', async () => {
    const { FaultyServer, behave } = await import('../support/faulty-server.js');
    // Margins wide enough for a loaded CI machine: the probe times out at 400 ms (AS at 1 s), a user's attempt at 3 s,
    // and "slow" is 50 ms against an AS at 120 ms (well inside the probe timeout).
    let delayMs = 1000;
    const active = { active: true, scope: 'read', client_id: 'app', exp: Math.floor(Date.now() / 1000) + 600 };
    const server = await FaultyServer.start((req, res, body) => behave.delay(delayMs, behave.json(active))(req, res, body));
    cleanups.push(() => server.stop());
    const { app, url } = await startApp(
      adapter,
      {
        introspectionEndpoint: server.url,
        allowInsecureRequests: true,
        clientId: 'api',
        clientSecret: 'secret',
        cache: false,
        health: { probeTimeoutMs: 400, cacheMs: 0, slowMs: 50 },
        // The user attempt timeout (3 s) is longer than the AS's answer; the probe timeout is shorter.
        resilience: { attemptTimeoutMs: 3000, deadlineMs: 5000, retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
      },
      [HealthController, OrdersController],
      [TerminusModule.forRoot({ logger: false })],
    );
    cleanups.push(() => app.close());

    for (let i = 0; i < 5; i++) {
      const down = await call(`${url}/health/ready`);
      expect(down.status).toBe(503);
      expect(down.body.details['authorization-server']).toMatchObject({ status: 'down', reason: 'timeout', breaker: 'closed' });
    }
    expect(app.get(IntrospectionService).circuitState).toBe('closed');
    expect((await call(`${url}/orders`, { authorization: 'Bearer a-valid-token' })).status).toBe(200);

    delayMs = 120;
    const degraded = await call(`${url}/health/ready`);
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.details['authorization-server']).toMatchObject({ status: 'degraded', reason: 'slow' });
  });
});
