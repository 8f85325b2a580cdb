// Adversarial review of readiness probes in the half-open state (round 11; was attack11-probe-halfopen).
import { afterEach, describe, expect, it } from '@jest/globals';
import { AuthorizationServerUnavailableError, IntrospectionHealthIndicator, type IntrospectionService } from '../../../lib/index.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { createEngine, sleep } from '../../support/engine.js';

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * Attack (issue 11 review, defect 3 in the half-open state): after a real outage the AS comes back
 * answering in 300 ms — within the users' attempt timeout (1 s) but above the probe timeout (100 ms).
 * Readiness probes take the half-open test call, fail on their OWN timeout, and re-open the breaker:
 * valid users keep getting 503 circuit_open against a working AS for as long as probes keep coming.
 */
describe('readiness probes in the half-open state', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('probes whose own timeout is shorter than the AS latency do not keep the breaker open for users', async () => {
    let mode: 'down' | 'slow' = 'down';
    const server = await FaultyServer.start((req, res, body) =>
      (mode === 'down' ? behave.status(503) : behave.delay(300, behave.json({ active: true, scope: 'read', client_id: 'app', exp: nowS() + 600 })))(
        req,
        res,
        body,
      ),
    );
    cleanups.push(() => server.stop());
    const { service, close, moduleRef } = await createEngine({
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'super-secret-value-77',
      cache: false,
      health: { probeTimeoutMs: 100, cacheMs: 0 },
      resilience: { attemptTimeoutMs: 1000, deadlineMs: 3000, retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 300 } },
    });
    cleanups.push(close);
    const health = moduleRef.get(IntrospectionHealthIndicator);
    const user = (s: IntrospectionService, t: string) =>
      s.introspect(t).then(
        (r) => (r.active ? 'active' : 'inactive'),
        (e: unknown) => (e instanceof AuthorizationServerUnavailableError ? e.reason : 'error'),
      );

    for (let i = 0; i < 2; i++) expect(await user(service, `outage-${i}`)).toBe('server_error');
    expect(service.circuitState).toBe('open');
    mode = 'slow'; // the AS is back: 300 ms per answer

    // A readiness probe loop (several kubelets / load-balancer health checks) and sparse user traffic.
    let probing = true;
    const probes = (async () => {
      while (probing) await health.probe();
    })();
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      await sleep(400);
      outcomes.push(await user(service, `valid-${i}`));
    }
    probing = false;
    await probes;
    // Expected: once the half-open delay has passed, valid users get answers (the AS answers them in 300 ms).
    // Observed: circuit_open throughout — every half-open test call is a probe that fails on its 100 ms timeout.
    expect(outcomes.filter((o) => o === 'circuit_open').length).toBeLessThanOrEqual(1);
  }, 30_000);
});
