import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { AuthorizationServerUnavailableError, type IntrospectionModuleOptions, type IntrospectionService } from '../../lib/index.js';
import { behave, FaultyServer, type Behaviour } from '../support/faulty-server.js';
import { capturedLogs, createEngine, sleep } from '../support/engine.js';
import { IntrospectionHealthIndicator } from '../../lib/index.js';

const SECRET = 'super-secret-value-77';
const TOKEN = 'tok_3nP9xQ2vLm8KzR4wYb7T1cF6hJ0dS5gA';
const nowS = () => Math.floor(Date.now() / 1000);
const activeBody = (extra: Record<string, unknown> = {}) => ({ active: true, scope: 'read', client_id: 'app', exp: nowS() + 600, ...extra });

/** Fast resilience settings so the suite runs in seconds; semantics are the same as the defaults. */
const FAST = {
  attemptTimeoutMs: 200,
  deadlineMs: 2000,
  retries: 2,
  retryInitialDelayMs: 10,
  retryMaxDelayMs: 50,
  circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 },
};

describe('fault handling with real misbehaving servers', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  afterAll(() => {
    // Whatever happened, no log line may contain a token or our secret.
    const all = capturedLogs.join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(SECRET);
  });

  async function setup(behaviour: Behaviour, extra: Partial<IntrospectionModuleOptions> = {}) {
    const server = await FaultyServer.start(behaviour);
    cleanups.push(() => server.stop());
    const { service, close, moduleRef } = await createEngine({
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: SECRET,
      resilience: FAST,
      ...extra,
    });
    cleanups.push(close);
    return { server, service, health: moduleRef.get(IntrospectionHealthIndicator) };
  }

  async function unavailable(service: IntrospectionService, token = TOKEN): Promise<AuthorizationServerUnavailableError> {
    const error = await service.introspect(token).then(
      (r) => {
        throw new Error(`expected rejection, got ${JSON.stringify(r)}`);
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuthorizationServerUnavailableError);
    return error as AuthorizationServerUnavailableError;
  }

  it('sends an RFC 7662 request: form body with token and token_type_hint, Accept JSON, client_secret_post', async () => {
    const { server, service } = await setup(behave.json(activeBody()), { clientAuthMethod: 'client_secret_post' });
    expect((await service.introspect(TOKEN)).active).toBe(true);
    const body = new URLSearchParams(server.bodies[0]);
    expect(Object.fromEntries(body)).toEqual({ token: TOKEN, token_type_hint: 'access_token', client_id: 'api', client_secret: SECRET });
  });

  it('refused connection → connection_failed, retried, never "invalid token"', async () => {
    const { server, service } = await setup(behave.json(activeBody()));
    await server.stop();
    cleanups.pop();
    const error = await unavailable(service);
    expect(error.reason).toBe('connection_failed');
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('responses slower than the attempt timeout → timeout after 1 + retries attempts, within the deadline', async () => {
    // The breaker weighs each silent attempt 2 lookup-equivalents: with FAST's threshold of 3 it would
    // open after the second attempt and cut the retries short. A threshold of 6 lets all three through.
    const { server, service } = await setup(behave.delay(1000, behave.json(activeBody())), {
      resilience: { ...FAST, circuitBreaker: { consecutiveFailures: 6, halfOpenAfterMs: 300 } },
    });
    const error = await unavailable(service);
    expect(error.reason).toBe('timeout');
    expect(server.requests).toBe(3);
    // Three silent attempts = 6 lookup-equivalents: one lookup of a silent AS opens the breaker.
    expect(service.circuitState).toBe('open');
  });

  it('500 → server_error after 1 + retries attempts', async () => {
    const { server, service } = await setup(behave.status(500));
    const error = await unavailable(service);
    expect(error.reason).toBe('server_error');
    expect(error.status).toBe(500);
    expect(server.requests).toBe(3);
  });

  it('429 with a long Retry-After → rate_limited, not retried, hint passed on', async () => {
    const { server, service } = await setup(behave.status(429, { 'retry-after': '120' }));
    const error = await unavailable(service);
    expect(error.reason).toBe('rate_limited');
    expect(error.retryAfterSeconds).toBe(120);
    expect(server.requests).toBe(1);
  });

  it('429 with a short Retry-After → retried after waiting at least that long', async () => {
    let calls = 0;
    const { server, service } = await setup(
      (req, res, body) => (++calls === 1 ? behave.status(429, { 'retry-after': '1' }) : behave.json(activeBody()))(req, res, body),
      { resilience: { ...FAST, retryMaxDelayMs: 1500, deadlineMs: 4000 } },
    );
    const started = Date.now();
    expect((await service.introspect(TOKEN)).active).toBe(true);
    expect(server.requests).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
  });

  it.each([
    ['an HTML page', behave.html()],
    ['a body that is not JSON', (_q, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":tru')],
    ['"active": "true" (a string)', behave.json({ active: 'true', scope: 'admin' })],
    ['a JSON array', behave.json([{ active: true }])],
    ['a non-numeric exp', behave.json({ active: true, exp: 'tomorrow' })],
  ])('200 with %s → invalid_response, not retried, never active', async (_name, behaviour) => {
    const { server, service } = await setup(behaviour);
    const error = await unavailable(service);
    expect(error.reason).toBe('invalid_response');
    expect(server.requests).toBe(1);
  });

  it('a 10 MB body → invalid_response without buffering it all', async () => {
    const { service } = await setup(behave.huge(10 * 1024 * 1024));
    const before = process.memoryUsage().heapUsed;
    const error = await unavailable(service);
    expect(error.reason).toBe('invalid_response');
    expect(error.message).toContain('maxResponseBytes');
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('401 from the endpoint → client_authentication_failed, logged as an error with the fix, never the secret', async () => {
    const { server, service } = await setup(behave.json({ error: 'invalid_client' }, 401));
    capturedLogs.length = 0;
    const error = await unavailable(service);
    expect(error.reason).toBe('client_authentication_failed');
    // The lookup, then one confirmation with a token nobody holds (so no single token can hold every lookup back).
    expect(server.requests).toBe(2);
    const line = capturedLogs.find((l) => l.includes('client_authentication_failed') && l.includes('for token'));
    expect(line).toContain('Check `clientId`');
    expect(line).toMatch(/token [0-9a-f]{12}/);
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(SECRET);
  });

  it('circuit breaker: opens after consecutive failures, fails without calling the AS, recovers half-open', async () => {
    let healthy = false;
    const { server, service } = await setup((req, res, body) => (healthy ? behave.json(activeBody()) : behave.status(503))(req, res, body));
    for (let i = 0; i < FAST.circuitBreaker.consecutiveFailures; i++) {
      expect((await unavailable(service, `${TOKEN}${i}`)).reason).toBe('server_error');
    }
    expect(service.circuitState).toBe('open');
    const requestsWhenOpened = server.requests;
    for (let i = 0; i < 50; i++) {
      const error = await unavailable(service, `${TOKEN}x${i}`);
      expect(error.reason).toBe('circuit_open');
      expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    // Speed of these rejections is measured in bench/, not here.
    expect(server.requests).toBe(requestsWhenOpened);

    healthy = true;
    await sleep(FAST.circuitBreaker.halfOpenAfterMs + 50);
    expect((await service.introspect(TOKEN)).active).toBe(true);
    expect(service.circuitState).toBe('closed');
  });

  it('serve-stale: an expired-fresh active entry is served (flagged stale) while the AS is down, never past exp', async () => {
    let healthy = true;
    const exp = nowS() + 3;
    const { service } = await setup((req, res, body) => (healthy ? behave.json(activeBody({ exp })) : behave.status(500))(req, res, body), {
      cache: { ttlSeconds: 1, staleIfErrorSeconds: 300 },
      resilience: { ...FAST, circuitBreaker: false },
    });
    expect((await service.introspect(TOKEN)).active).toBe(true);
    healthy = false;
    await sleep(1100);
    await expect(service.introspect(TOKEN)).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
    const stale = await service.introspect(TOKEN, { allowStale: true });
    expect(stale).toMatchObject({ active: true, stale: true, scope: 'read' });
    await sleep((exp - nowS() + 1) * 1000);
    await expect(service.introspect(TOKEN, { allowStale: true })).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
  });

  it("outagePolicy 'serve-stale' makes stale serving the default", async () => {
    let healthy = true;
    const { service } = await setup((req, res, body) => (healthy ? behave.json(activeBody()) : behave.status(500))(req, res, body), {
      outagePolicy: 'serve-stale',
      cache: { ttlSeconds: 1, staleIfErrorSeconds: 60 },
    });
    await service.introspect(TOKEN);
    healthy = false;
    await sleep(1100);
    expect(await service.introspect(TOKEN)).toMatchObject({ active: true, stale: true });
    await expect(service.introspect(TOKEN, { allowStale: false })).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
  });

  it('a failed discovery is not remembered: the next lookup discovers again, no restart needed', async () => {
    let discoveryUp = false;
    const server = await FaultyServer.start((req, res, body) => {
      const origin = `http://${req.headers.host}`;
      if (req.url?.startsWith('/.well-known/')) {
        if (!discoveryUp) return behave.status(500)(req, res, body);
        return behave.json({ issuer: origin, introspection_endpoint: `${origin}/introspect` })(req, res, body);
      }
      return behave.json(activeBody())(req, res, body);
    });
    cleanups.push(() => server.stop());
    const { service, close } = await createEngine({
      issuer: new URL(server.url).origin,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: SECRET,
      resilience: { ...FAST, retries: 0, circuitBreaker: false },
    });
    cleanups.push(close);
    expect((await unavailable(service)).reason).toBe('discovery_failed');
    discoveryUp = true;
    expect((await service.introspect(TOKEN)).active).toBe(true);
  });

  it.each([
    [
      'throws',
      {
        get: async () => Promise.reject(new Error('ECONNRESET')),
        set: async () => Promise.reject(new Error('ECONNRESET')),
        delete: async () => true,
        clear: async () => undefined,
      },
    ],
    ['hangs', { get: () => new Promise(() => undefined), set: () => new Promise(() => undefined), delete: async () => true, clear: async () => undefined }],
  ])('a cache store that %s degrades to asking the AS, never to rejecting', async (_name, store) => {
    const { server, service } = await setup(behave.json(activeBody()), {
      cache: { store: new Keyv({ store: store as never, throwOnErrors: true }), storeTimeoutMs: 50 },
    });
    expect((await service.introspect(TOKEN)).active).toBe(true);
    expect((await service.introspect(TOKEN)).active).toBe(true);
    expect(server.requests).toBe(2);
  });

  it('bulkhead: caps concurrent calls to the AS; beyond the queue, lookups fail fast as overloaded', async () => {
    let inFlight = 0;
    let peak = 0;
    const { service } = await setup(
      (req, res, body) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        res.on('finish', () => inFlight--);
        return behave.delay(150, behave.json(activeBody()))(req, res, body);
      },
      { resilience: { ...FAST, attemptTimeoutMs: 1000, maxConcurrentCalls: 2, maxQueuedCalls: 2, circuitBreaker: false, retries: 0 } },
    );
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => service.introspect(`${TOKEN}-${i}`)));
    const fulfilled = outcomes.filter((o) => o.status === 'fulfilled').length;
    const overloaded = outcomes.filter((o) => o.status === 'rejected' && (o.reason as AuthorizationServerUnavailableError).reason === 'overloaded').length;
    expect(peak).toBe(2);
    expect(fulfilled).toBe(4); // 2 running + 2 queued
    expect(overloaded).toBe(4);
  });

  describe('what can and cannot trip the breaker', () => {
    it.each([
      ['unsupported_token_type', 400],
      ['invalid_request', 400],
      ['invalid_token', 400],
      ['invalid_token', 404],
    ])('a %s error (HTTP %d) about the token → inactive, negatively cached, breaker stays closed', async (code, status) => {
      const { server, service } = await setup(behave.json({ error: code, error_description: 'cannot introspect this' }, status));
      for (let i = 0; i < 10; i++) {
        expect(await service.introspect(`junk-${i}`)).toEqual({ active: false, reason: 'rejected_by_authorization_server' });
      }
      expect(service.circuitState).toBe('closed');
      expect(server.requests).toBe(10); // one call per token, no retries
      expect(await service.introspect('junk-3')).toEqual({ active: false, reason: 'rejected_by_authorization_server' });
      expect(server.requests).toBe(10); // negative cache
    });

    it.each([
      ['401 invalid_client', behave.json({ error: 'invalid_client' }, 401)],
      ['400 invalid_client', behave.json({ error: 'invalid_client' }, 400)],
      ['400 unauthorized_client', behave.json({ error: 'unauthorized_client' }, 400)],
      ['404 without an OAuth error', behave.status(404)],
    ])(
      '%s (about our credentials or configuration) stays unavailable, is never a verdict on the token, and does not open the breaker',
      async (_name, behaviour) => {
        const { service } = await setup(behaviour);
        for (let i = 0; i < 2 * FAST.circuitBreaker.consecutiveFailures; i++) {
          expect(['client_authentication_failed', 'unexpected_status']).toContain((await unavailable(service, `t-${i}`)).reason);
        }
        expect(service.circuitState).toBe('closed');
      },
    );

    it('our own overload (full queue, deadline passing while queued) never opens the breaker', async () => {
      let hold = true;
      const { server, service } = await setup(
        (req, res, body) => (hold ? behave.delay(300, behave.json({ active: false })) : behave.json(activeBody()))(req, res, body),
        {
          resilience: {
            ...FAST,
            retries: 0,
            attemptTimeoutMs: 500,
            deadlineMs: 500,
            maxConcurrentCalls: 2,
            maxQueuedCalls: 4,
            reservedCallsForKnownTokens: 0,
            circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
          },
        },
      );
      const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => service.introspect(`flood-${i}`)));
      const reasons = outcomes.map((o) => (o.status === 'fulfilled' ? 'answered' : (o.reason as AuthorizationServerUnavailableError).reason));
      expect(reasons.filter((r) => r === 'answered')).toHaveLength(2);
      expect(reasons.filter((r) => r === 'overloaded').length).toBeGreaterThanOrEqual(14);
      expect(reasons.every((r) => ['answered', 'overloaded', 'timeout'].includes(r))).toBe(true);
      expect(service.circuitState).toBe('closed');
      hold = false;
      await sleep(400); // let abandoned calls drain from the bulkhead
      expect((await service.introspect(TOKEN)).active).toBe(true);
      expect(server.requests).toBeLessThanOrEqual(7);
    });

    it('a flood of new tokens cannot take the calls reserved for re-validating known-active tokens', async () => {
      const known = `${TOKEN}-known`;
      const { server, service } = await setup(
        (req, res, body) => {
          const token = new URLSearchParams(body).get('token');
          return (token === known ? behave.json(activeBody()) : behave.delay(400, behave.json({ active: false })))(req, res, body);
        },
        {
          cache: { ttlSeconds: 1, staleIfErrorSeconds: 60 },
          resilience: {
            ...FAST,
            retries: 0,
            attemptTimeoutMs: 2000,
            deadlineMs: 2000,
            maxConcurrentCalls: 4,
            reservedCallsForKnownTokens: 1,
            maxQueuedCalls: 100,
          },
        },
      );
      expect((await service.introspect(known)).active).toBe(true);
      await sleep(1050); // freshness over: the next lookup re-validates
      const flood = Promise.allSettled(Array.from({ length: 15 }, (_, i) => service.introspect(`flood-${i}`)));
      await sleep(50);
      // 3 slots busy with the flood for 400 ms each, 12 queued: the known token still gets the reserved one at once.
      const revalidated = await Promise.race([service.introspect(known).then((r) => r.active), sleep(300).then(() => 'still queued')]);
      expect(revalidated).toBe(true);
      expect(server.requests).toBeLessThan(10);
      await flood;
    });

    it('health probes: their own timeouts never count against the breaker; a successful probe still closes it', async () => {
      let mode: 'slow' | 'down' | 'ok' = 'slow';
      const { service, health } = await setup(
        (req, res, body) =>
          (mode === 'slow' ? behave.delay(300, behave.json(activeBody())) : mode === 'down' ? behave.status(503) : behave.json(activeBody()))(req, res, body),
        {
          health: { probeTimeoutMs: 100, cacheMs: 0 },
          resilience: { ...FAST, attemptTimeoutMs: 1000, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 300 } },
        },
      );
      for (let i = 0; i < 6; i++) expect(await health.probe()).toMatchObject({ status: 'down', reason: 'timeout', breaker: 'closed' });
      expect(service.circuitState).toBe('closed');
      expect((await service.introspect(TOKEN)).active).toBe(true); // the user lookup (1 s attempt timeout) succeeds

      mode = 'down';
      for (let i = 0; i < 2; i++) await unavailable(service, `${TOKEN}-${i}`);
      expect(service.circuitState).toBe('open');
      expect(await health.probe()).toMatchObject({ status: 'down', reason: 'circuit_open' });
      mode = 'slow';
      await sleep(350);
      // Half-open: the probe is the test call, as patient as a user's attempt (1 s, not its own 100 ms):
      // an AS that answers users in time closes the breaker, even with no user traffic.
      expect(await health.probe()).toMatchObject({ status: 'up', breaker: 'closed' });
      expect(service.circuitState).toBe('closed');
      expect(service.circuitState).toBe('closed');
    });
  });

  describe('Retry-After from the authorization server', () => {
    it('no call before the retry time; every caller is told the same remaining time', async () => {
      const { server, service } = await setup(behave.status(429, { 'retry-after': '60' }));
      expect((await unavailable(service, 'a')).retryAfterSeconds).toBe(60);
      const hints: number[] = [];
      for (let i = 0; i < 10; i++) {
        const error = await unavailable(service, `t-${i}`);
        expect(error.reason).toBe('rate_limited');
        hints.push(error.retryAfterSeconds);
      }
      expect(server.requests).toBe(1);
      expect(Math.max(...hints)).toBeLessThanOrEqual(60);
      expect(Math.min(...hints)).toBeGreaterThanOrEqual(59);
      expect(service.circuitState).toBe('closed'); // one failure, not a stream of them
    });

    it('lookups already queued (or retrying) when the 429 arrives do not call before the retry time either', async () => {
      const { server, service } = await setup(behave.delay(100, behave.status(429, { 'retry-after': '60' })), {
        resilience: { ...FAST, maxConcurrentCalls: 1, reservedCallsForKnownTokens: 0 },
      });
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => service.introspect(`queued-${i}`)));
      expect(outcomes.every((o) => o.status === 'rejected' && (o.reason as AuthorizationServerUnavailableError).reason === 'rate_limited')).toBe(true);
      expect(server.requests).toBe(1);
    });

    it('calls again once the retry time has passed', async () => {
      let limited = true;
      const { server, service } = await setup(
        (req, res, body) => (limited ? behave.status(429, { 'retry-after': '1' }) : behave.json(activeBody()))(req, res, body),
        { resilience: { ...FAST, retries: 0 } },
      );
      expect((await unavailable(service, 'a')).retryAfterSeconds).toBe(1);
      limited = false;
      expect((await unavailable(service, 'b')).reason).toBe('rate_limited');
      expect(server.requests).toBe(1);
      await sleep(1050);
      expect((await service.introspect(TOKEN)).active).toBe(true);
      expect(server.requests).toBe(2);
    });

    it.each([
      ['delay-seconds', '999999999'],
      ['an HTTP-date', new Date(Date.now() + 30 * 86_400_000).toUTCString()],
    ])('an absurd Retry-After (%s) is capped by resilience.maxRetryAfterSeconds', async (_name, value) => {
      const { service } = await setup(behave.status(429, { 'retry-after': value }), { resilience: { ...FAST, maxRetryAfterSeconds: 120 } });
      expect((await unavailable(service, 'a')).retryAfterSeconds).toBe(120);
      expect((await unavailable(service, 'b')).retryAfterSeconds).toBeLessThanOrEqual(120);
    });

    it('a 503 with Retry-After is respected the same way', async () => {
      const { server, service } = await setup(behave.status(503, { 'retry-after': '30' }));
      expect((await unavailable(service, 'a')).retryAfterSeconds).toBe(30);
      await unavailable(service, 'b');
      expect(server.requests).toBe(1);
    });
  });

  describe('single-flight', () => {
    it('200 concurrent lookups of one new token make exactly 1 call', async () => {
      const { server, service } = await setup(behave.delay(100, behave.json(activeBody())));
      const results = await Promise.all(Array.from({ length: 200 }, () => service.introspect(TOKEN)));
      expect(results.every((r) => r.active)).toBe(true);
      console.log(`single-flight: 200 concurrent lookups → ${server.requests} call(s) at the server`);
      expect(server.requests).toBe(1);
    });

    it("one caller's deadline does not fail the others, nor the next lookup", async () => {
      const { server, service } = await setup(behave.delay(300, behave.json(activeBody())), {
        resilience: { ...FAST, attemptTimeoutMs: 1000 },
      });
      const impatient = service.introspect(TOKEN, { timeoutMs: 50 });
      const patient = Promise.all(Array.from({ length: 10 }, () => service.introspect(TOKEN)));
      await expect(impatient).rejects.toMatchObject({ reason: 'timeout' });
      expect((await patient).every((r) => r.active)).toBe(true);
      expect(server.requests).toBe(1);
      expect((await service.introspect(TOKEN)).active).toBe(true); // cached now
      for (const abortAfterMs of [0, 20]) {
        // Before the lookup starts, and while it is in flight (the shared call then settles with nobody waiting).
        const aborted = new AbortController();
        const pending = service.introspect(`${TOKEN}-other-${abortAfterMs}`, { signal: aborted.signal });
        setTimeout(() => aborted.abort(), abortAfterMs);
        await expect(pending).rejects.toMatchObject({ reason: 'timeout' });
      }
      await sleep(400); // let the abandoned shared call settle while the server is still up
    });

    it('a failed shared call does not poison the next lookup', async () => {
      let fail = true;
      const { server, service } = await setup((req, res, body) => (fail ? behave.delay(50, behave.html()) : behave.json(activeBody()))(req, res, body));
      const first = await Promise.allSettled(Array.from({ length: 20 }, () => service.introspect(TOKEN)));
      expect(first.every((r) => r.status === 'rejected')).toBe(true);
      expect(server.requests).toBe(1);
      fail = false;
      expect((await service.introspect(TOKEN)).active).toBe(true);
      expect(server.requests).toBe(2);
    });
  });
});
