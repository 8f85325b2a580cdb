// Adversarial review of the weighted breaker and stale keep-alive resets (round 18; was attack18-keepalive-reset).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { IntrospectionModuleOptions, IntrospectionService } from '../../../lib/index.js';
import { EmbeddedAuthorizationServer } from '../../../sample/embedded-authorization-server.js';
import { sleep } from '../../support/engine.js';
import { IdleResetProxy } from '../../support/idle-reset-proxy.js';
import { lookupEngine, reasonOf } from '../../support/lookup-engine.js';

/**
 * ATTACK (issue 18 part 2, weighted attempt-level breaker): ECONNRESET weighs 2, so three resets in a row open
 * the breaker (6 ≥ 5). Resets of stale kept-alive connections are routine against a HEALTHY AS: a NAT gateway or
 * load balancer idle timeout (AWS NAT: 350 s, RST on the next packet), or the AS's keepAliveTimeout racing a
 * reuse. After a quiet period every pooled socket is dead, and the next lookup's three attempts each pick one.
 */
describe('stale keep-alive resets from a healthy AS and the weighted breaker', () => {
  let as: EmbeddedAuthorizationServer;
  let proxy: IdleResetProxy;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    as = await EmbeddedAuthorizationServer.start();
    proxy = await IdleResetProxy.start(Number(new URL(as.issuer).port), 400);
  });
  afterAll(async () => {
    await proxy.stop();
    await as.stop();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  const engine = (resilience?: IntrospectionModuleOptions['resilience']): Promise<IntrospectionService> =>
    lookupEngine(proxy.url('/token/introspection'), cleanups, resilience);

  it('after an idle period, a burst of lookups (pool of 6 kept-alive sockets, all stale) is answered and leaves the breaker closed on a healthy AS', async () => {
    const service = await engine(); // default options: retries 2, consecutiveFailures 5
    const warm = await Promise.all(Array.from({ length: 6 }, () => as.issueToken({ scope: 'read' })));
    expect(await Promise.all(warm.map((t) => reasonOf(service, t)))).toEqual(warm.map(() => 'active')); // 6 pooled sockets
    const tokens = await Promise.all(Array.from({ length: 6 }, () => as.issueToken({ scope: 'read' })));
    await sleep(600); // the middlebox's idle timeout passes; the AS stays up
    const reasons = await Promise.all(tokens.map((t) => reasonOf(service, t)));
    expect(proxy.resets).toBeGreaterThan(0); // the scenario happened: stale flows were reset
    // A healthy AS: every retry on a fresh connection would have succeeded. Must not 503, must not open.
    expect({ reasons, breaker: service.circuitState }).toEqual({ reasons: tokens.map(() => 'active'), breaker: 'closed' });
  }, 20_000);

  it('one lookup after an idle period, with three stale pooled sockets, leaves the breaker closed and the next lookup is answered', async () => {
    const service = await engine();
    const warm = await Promise.all(Array.from({ length: 3 }, () => as.issueToken({ scope: 'read' })));
    expect(await Promise.all(warm.map((t) => reasonOf(service, t)))).toEqual(warm.map(() => 'active'));
    const token = await as.issueToken({ scope: 'read' });
    await sleep(600);
    const resetsBefore = proxy.resets;
    const reason = await reasonOf(service, token);
    expect(proxy.resets - resetsBefore).toBeGreaterThan(0);
    expect({ reason, breaker: service.circuitState }).toEqual({ reason: expect.any(String), breaker: 'closed' });
    // And the next user, with the AS perfectly healthy, is answered (not 'circuit_open' for halfOpenAfterMs = 5 s).
    expect(await reasonOf(service, await as.issueToken({ scope: 'read' }))).toBe('active');
  }, 20_000);

  it('a single stale socket (one reset, weight 2) is retried on a fresh connection and does not open it', async () => {
    const service = await engine();
    const token = await as.issueToken({ scope: 'read' });
    expect(await reasonOf(service, token)).toBe('active'); // one pooled socket
    await sleep(600);
    const resetsBefore = proxy.resets;
    expect(await reasonOf(service, token)).toBe('active');
    expect(proxy.resets - resetsBefore).toBe(1);
    expect(service.circuitState).toBe('closed');
  }, 20_000);
});
