import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from '../../sample/health.controller.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { sleep } from '../support/engine.js';

/** Issue 13: the readiness indicator covers the key endpoint when JWTs are validated locally. */
describe.each(ADAPTERS)('health of the key endpoint over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let keysProxy: ChaosProxy;
  let app: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    keysProxy = await ChaosProxy.start(as.issuer);
    app = await startApp(
      adapter,
      {
        issuer: as.issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        audience: 'urn:jwt:orders',
        jwt: { mode: 'local', jwksUri: keysProxy.url('/jwks'), keysCacheSeconds: 1, keysStaleIfErrorSeconds: 1 },
        health: { cacheMs: 0, probeTimeoutMs: 2000 }, // generous: a loaded CI machine must not fail the first probe
        resilience: { retries: 0, circuitBreaker: false },
      },
      [HealthController],
      [TerminusModule.forRoot({ logger: false })],
    );
  });
  afterAll(async () => {
    await app?.app.close();
    await keysProxy?.stop();
    await as?.stop();
  });

  it('up with fresh keys; degraded while serving stale keys; down (503) once they are past the stale window; up again', async () => {
    const up = await call(`${app.url}/health/ready`);
    expect(up.status).toBe(200);
    expect(up.body.details['authorization-server']).toMatchObject({ status: 'up', keys: { status: 'up' } });
    await keysProxy.setMode('error500');
    await sleep(1100);
    const stale = await call(`${app.url}/health/ready`);
    expect(stale.body.details['authorization-server']).toMatchObject({ status: 'degraded', reason: 'keys_stale', keys: { status: 'stale' } });
    await sleep(1000);
    const down = await call(`${app.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.body.details['authorization-server']).toMatchObject({ status: 'down', keys: { status: 'down' } });
    await keysProxy.setMode('ok');
    const again = await call(`${app.url}/health/ready`);
    expect(again.status).toBe(200);
    expect(again.body.details['authorization-server'].keys.status).toBe('up');
  });
});
