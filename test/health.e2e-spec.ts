import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
// The sample's own readiness/liveness controller, exercised as users would deploy it.
import { HealthController } from '../sample/health.controller.js';
import { ADAPTERS, call, startApp } from './support/app.js';
import { CLIENTS, TestAuthorizationServer } from './support/authorization-server.js';
import { sleep } from './support/engine.js';

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
        introspectionEndpoint: as.introspectionEndpoint,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        health: { probeTimeoutMs: 500, cacheMs: CACHE_MS },
        resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: HALF_OPEN_MS } },
      },
      [HealthController],
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
    for (let i = 0; i < 10; i++) expect((await call(`${url}/health/ready`)).status).toBe(200);
    expect(as.introspectionRequests).toBe(1);
  });

  it('down within the probe timeout when the AS stops, down (circuit_open) while the breaker is open, up after recovery', async () => {
    await as.stop();
    await sleep(CACHE_MS + 20);
    const t0 = performance.now();
    const down = await call(`${url}/health/ready`);
    expect(performance.now() - t0).toBeLessThan(500 + 200);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('error');
    expect(down.body.details['authorization-server']).toMatchObject({ status: 'down', reason: 'connection_failed' });

    await sleep(CACHE_MS + 20); // a second failed probe opens the breaker (consecutiveFailures: 2)
    await call(`${url}/health/ready`);
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

describe('IntrospectionHealthIndicator with a slow authorization server', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('down within probeTimeoutMs when the AS hangs; degraded (HTTP 200) when it answers slower than slowMs', async () => {
    const { FaultyServer, behave } = await import('./support/faulty-server.js');
    let delayMs = 3000;
    const server = await FaultyServer.start((req, res, body) => behave.delay(delayMs, behave.json({ active: false }))(req, res, body));
    cleanups.push(() => server.stop());
    const { app, url } = await startApp(
      'express',
      {
        introspectionEndpoint: server.url,
        allowInsecureRequests: true,
        clientId: 'api',
        clientSecret: 'secret',
        health: { probeTimeoutMs: 200, cacheMs: 0, slowMs: 50 },
      },
      [HealthController],
      [TerminusModule.forRoot({ logger: false })],
    );
    cleanups.push(() => app.close());

    const t0 = performance.now();
    const down = await call(`${url}/health/ready`);
    expect(performance.now() - t0).toBeLessThan(200 + 150);
    expect(down.status).toBe(503);
    expect(down.body.details['authorization-server']).toMatchObject({ status: 'down', reason: 'timeout' });

    delayMs = 100;
    const degraded = await call(`${url}/health/ready`);
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.details['authorization-server']).toMatchObject({ status: 'degraded', reason: 'slow' });
  });
});
