import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { IntrospectionModuleOptions, IntrospectionService } from '../../lib/index.js';
import { EmbeddedAuthorizationServer } from '../../sample/embedded-authorization-server.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { lookupEngine, reasonOf } from '../support/lookup-engine.js';

/**
 * Issue 18 (breaker reaction): the breaker sees single attempts and weighs each failed one by how
 * clearly it shows an outage — refused / reset / silent attempts 2 lookup-equivalents, other AS
 * trouble (5xx, 429) 1 / (retries + 1) — and opens at `consecutiveFailures` (5) with no success in
 * between. A real oidc-provider behind a loopback proxy that misbehaves on demand; no cache, so
 * every call is a lookup. Counts are asserted; time bounds are generous.
 */
describe('breaker reaction: outages open the breaker within a few attempts, a healthy or partially failing AS never does', () => {
  let as: EmbeddedAuthorizationServer;
  let proxy: ChaosProxy;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    as = await EmbeddedAuthorizationServer.start();
    proxy = await ChaosProxy.start(as.issuer);
  });
  afterAll(async () => {
    await proxy.stop();
    await as.stop();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    proxy.modeFor = undefined;
    await proxy.setMode('ok');
  });

  const engine = (resilience?: IntrospectionModuleOptions['resilience']): Promise<IntrospectionService> =>
    lookupEngine(proxy.url('/token/introspection'), cleanups, resilience);

  /** An engine that has talked to the AS (connections open, breaker closed with a success behind it). */
  async function warmEngine(resilience?: IntrospectionModuleOptions['resilience']) {
    const service = await engine(resilience);
    const token = await as.issueToken({ scope: 'read' });
    expect(await reasonOf(service, token)).toBe('active');
    return { service, token };
  }

  describe('outages (default options)', () => {
    it('connection refused: the first lookup (three refused attempts = 6) opens it; the next fails fast', async () => {
      const { service, token } = await warmEngine();
      await proxy.setMode('down');
      expect(await reasonOf(service, token)).toBe('connection_failed'); // the lookup that met the outage says what it met
      expect(service.circuitState).toBe('open');
      // Fails fast: `circuit_open` is only answered without an attempt (no wall-clock bound: a loaded machine can miss it).
      expect(await reasonOf(service, token)).toBe('circuit_open');
    });

    it('HTTP 500: 15 failed attempts (5 lookups × 3, 1/3 each) open it, as when lookups were counted; not one sooner', async () => {
      const { service, token } = await warmEngine();
      await proxy.setMode('error500');
      const before = proxy.requests;
      for (let i = 0; i < 4; i++) {
        expect(await reasonOf(service, token)).toBe('server_error');
        expect(service.circuitState).toBe('closed');
      }
      expect(proxy.requests - before).toBe(12);
      expect(await reasonOf(service, token)).toBe('server_error');
      expect(proxy.requests - before).toBe(15);
      expect(service.circuitState).toBe('open');
      expect(await reasonOf(service, token)).toBe('circuit_open');
      expect(proxy.requests - before).toBe(15);
    });

    it('black hole: one lookup (two attempt timeouts + the deadline = 6) opens it; no further call reaches the AS', async () => {
      const { service, token } = await warmEngine();
      await proxy.setMode('blackhole');
      const before = proxy.requests;
      const started = Date.now();
      expect(await reasonOf(service, token)).toBe('timeout');
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(3900); // two attempt timeouts of 2 s
      expect(proxy.requests - before).toBe(3); // two timed-out attempts and the one the deadline (5 s) cut
      expect(service.circuitState).toBe('open');
      expect(await reasonOf(service, token)).toBe('circuit_open');
      expect(proxy.requests - before).toBe(3);
    }, 20_000);

    it('black hole under concurrent lookups: the first attempt timeouts open it, no retry reaches the AS', async () => {
      const { service } = await warmEngine();
      const tokens = await Promise.all(Array.from({ length: 6 }, () => as.issueToken({ scope: 'read' })));
      await proxy.setMode('blackhole');
      const before = proxy.requests;
      const reasons = await Promise.all(tokens.map((t) => reasonOf(service, t)));
      expect(reasons).toEqual(tokens.map(() => 'timeout'));
      expect(proxy.requests - before).toBe(6); // one attempt each: no retry once the breaker opened
      expect(service.circuitState).toBe('open');
    }, 20_000);
  });

  describe('no false trips', () => {
    /** Scaled down so the suite stays quick: the same shape as the defaults (3 attempts, deadline > 2 attempt timeouts). */
    const QUICK = { attemptTimeoutMs: 300, deadlineMs: 1000, retries: 2, retryInitialDelayMs: 10, retryMaxDelayMs: 50 };

    it('a healthy AS whose every other answer is slower than the attempt timeout: each retry succeeds, never opens', async () => {
      const { service } = await warmEngine(QUICK);
      proxy.delayMs = 600;
      const before = proxy.requests;
      proxy.modeFor = (n) => ((n - before) % 2 ? 'delay' : 'ok');
      for (let i = 0; i < 15; i++) {
        expect(await reasonOf(service, await as.issueToken({ scope: 'read' }))).toBe('active');
        expect(service.circuitState).toBe('closed');
      }
      expect(proxy.requests - before).toBe(30); // each lookup: a timed-out attempt (weight 2), then a success
    }, 30_000);

    it('one 503 among many successes never opens it', async () => {
      const { service, token } = await warmEngine();
      const start = proxy.requests;
      proxy.modeFor = (n) => (n === start + 40 ? 'error503' : 'ok');
      for (let i = 0; i < 80; i++) expect(await reasonOf(service, token)).toBe('active');
      expect(proxy.requests - start).toBe(81); // the 503 was retried once
      expect(service.circuitState).toBe('closed');
    });

    it('a partially failing AS (one node of three answers 500, at random) over 200 lookups never opens it', async () => {
      const { service, token } = await warmEngine();
      let seed = 18;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31; // deterministic
      let failures = 0;
      proxy.modeFor = () => (random() < 1 / 3 ? (failures++, 'error500') : 'ok');
      const reasons = new Map<string, number>();
      for (let i = 0; i < 200; i++) {
        const reason = await reasonOf(service, token);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        expect(service.circuitState).toBe('closed');
      }
      expect(failures).toBeGreaterThan(60);
      expect(reasons.get('circuit_open')).toBeUndefined();
      // A lookup fails only if its three attempts all met the bad node (1/27): the breaker needs 15 in a row.
      expect(reasons.get('active')).toBeGreaterThan(180);
    }, 30_000);

    it('every third response 500 (round-robin over three nodes, one bad) over 200 lookups never opens it', async () => {
      const { service, token } = await warmEngine();
      proxy.modeFor = (n) => (n % 3 === 0 ? 'error500' : 'ok');
      for (let i = 0; i < 200; i++) expect(await reasonOf(service, token)).toBe('active');
      expect(service.circuitState).toBe('closed');
    }, 30_000);

    it('a flood of junk tokens (inactive at the AS) never opens it, and a real outage still does afterwards', async () => {
      const { service } = await warmEngine();
      const before = proxy.requests;
      for (let round = 0; round < 10; round++) {
        const reasons = await Promise.all(Array.from({ length: 30 }, () => reasonOf(service, randomBytes(24).toString('base64url'))));
        expect(new Set(reasons)).toEqual(new Set(['inactive']));
      }
      expect(proxy.requests - before).toBe(300);
      expect(service.circuitState).toBe('closed');
      await proxy.setMode('down');
      expect(await reasonOf(service, 'any-token-now-that-the-as-is-gone')).toBe('connection_failed');
      expect(service.circuitState).toBe('open');
    }, 30_000);

    it('our own overload (a flood of new tokens beyond the bulkhead) never opens it', async () => {
      const { service } = await warmEngine({ maxConcurrentCalls: 2, maxQueuedCalls: 4, reservedCallsForKnownTokens: 0 });
      proxy.delayMs = 150;
      await proxy.setMode('delay');
      const reasons = await Promise.all(Array.from({ length: 60 }, (_, i) => reasonOf(service, `junk-flood-${i}-${randomBytes(8).toString('hex')}`)));
      expect(reasons.filter((r) => r === 'overloaded').length).toBeGreaterThan(30);
      expect(reasons.filter((r) => r !== 'overloaded' && r !== 'inactive')).toEqual([]);
      expect(service.circuitState).toBe('closed');
    }, 30_000);
  });
});
