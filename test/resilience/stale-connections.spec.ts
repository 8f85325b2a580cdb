import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthorizationServerUnavailableError, type IntrospectionService } from '../../lib/index.js';
import { IDLE_CONNECTION_TIMEOUT_MS } from '../../lib/client/authorization-server-http.js';
import { resolveOptions } from '../../lib/options/resolve-options.js';
import { ResiliencePolicy } from '../../lib/resilience/resilience.policy.js';
import { EmbeddedAuthorizationServer } from '../../sample/embedded-authorization-server.js';
import { sleep } from '../support/engine.js';
import { IdleResetProxy } from '../support/idle-reset-proxy.js';
import { lookupEngine, reasonOf } from '../support/lookup-engine.js';

/**
 * Issue 18 review: stale kept-alive connections (closed while idle by a NAT gateway, a load balancer or the
 * server) are not an outage. The HTTP client closes idle connections after IDLE_CONNECTION_TIMEOUT_MS, replays a
 * request that met a stale pooled connection once on a fresh one (after dropping the other idle connections), and
 * the breaker weighs a stale connection like a 5xx and retries it without backoff. A reset on a FRESH connection
 * still weighs 2. Real oidc-provider behind a loopback TCP middlebox.
 */
describe('stale keep-alive connections', () => {
  let as: EmbeddedAuthorizationServer;
  let proxy: IdleResetProxy;
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    as = await EmbeddedAuthorizationServer.start();
  });
  afterAll(async () => {
    await as.stop();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    await proxy?.stop();
  });

  async function engine(idleMs: number): Promise<IntrospectionService> {
    proxy = await IdleResetProxy.start(Number(new URL(as.issuer).port), idleMs);
    return lookupEngine(proxy.url('/token/introspection'), cleanups);
  }
  async function warm(service: IntrospectionService, connections: number): Promise<void> {
    const tokens = await Promise.all(Array.from({ length: connections }, () => as.issueToken({ scope: 'read' })));
    expect(await Promise.all(tokens.map((t) => reasonOf(service, t)))).toEqual(tokens.map(() => 'active'));
  }

  it('a lookup meeting a stale pooled connection is answered: one reset, then the replay goes out on a fresh connection (idle ones dropped)', async () => {
    const service = await engine(300);
    await warm(service, 3); // three pooled connections
    const token = await as.issueToken({ scope: 'read' });
    await sleep(500); // all three are now stale
    const [resets, connections] = [proxy.resets, proxy.connections];
    expect(await reasonOf(service, token)).toBe('active');
    // Without dropping the other idle connections, the replay (and the retries) would meet the other stale ones.
    expect({ resets: proxy.resets - resets, connections: proxy.connections - connections }).toEqual({ resets: 1, connections: 1 });
    expect(service.circuitState).toBe('closed');
  }, 20_000);

  it(`idle connections are closed after ${IDLE_CONNECTION_TIMEOUT_MS} ms: a middlebox forgetting flows later never resets a lookup`, async () => {
    const service = await engine(60_000);
    await warm(service, 1);
    const connections = proxy.connections;
    // Shorter than the AS's own keep-alive timeout (5 s): only the agent's idle timeout closes the connection.
    await sleep(IDLE_CONNECTION_TIMEOUT_MS + 500);
    expect(await reasonOf(service, await as.issueToken({ scope: 'read' }))).toBe('active');
    expect({ newConnections: proxy.connections - connections, resets: proxy.resets }).toEqual({ newConnections: 1, resets: 0 });
  }, 20_000);

  it('resets on fresh connections are still an outage: one lookup (stale, then three fresh resets) opens the breaker', async () => {
    const service = await engine(60_000);
    await warm(service, 1);
    proxy.resetEverything = true; // an L4 balancer with no live backend: accepts, then resets every connection
    expect(await reasonOf(service, await as.issueToken({ scope: 'read' }))).toBe('connection_failed');
    expect(service.circuitState).toBe('open');
  }, 20_000);
});

describe('stale connections in the resilience policy (stubbed calls)', () => {
  const policy = () =>
    new ResiliencePolicy(
      resolveOptions({
        introspectionEndpoint: 'http://127.0.0.1:1/introspect',
        clientId: 'api',
        clientSecret: 's',
        allowInsecureRequests: true,
        resilience: { retryInitialDelayMs: 1000 },
      }).resilience,
    );
  /** What the HTTP client throws when a reset meets a connection (axios error: `code`, `request.reusedSocket`, no response). */
  const resetOn = (reusedSocket: boolean) => async () => {
    const cause = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', request: { reusedSocket } });
    throw new AuthorizationServerUnavailableError('connection_failed', 5, 'The introspection endpoint could not be reached (ECONNRESET).', { cause });
  };

  it('a stale connection weighs 1 / (retries + 1) and is retried without backoff; a fresh reset weighs 2', async () => {
    const stale = policy();
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      await expect(stale.execute(resetOn(true))).rejects.toMatchObject({ reason: 'connection_failed' });
      expect(Date.now() - started).toBeLessThan(500); // no 1 s backoff between the three attempts
      expect(stale.state).toBe('closed'); // 4 lookups × 3 attempts × 1/3 = 4 < 5
    }
    const fresh = policy();
    await expect(fresh.execute(resetOn(false))).rejects.toMatchObject({ reason: 'connection_failed' });
    expect(fresh.state).toBe('open'); // 3 attempts × 2 = 6 ≥ 5
  }, 20_000);
});
