import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { AuthorizationServerUnavailableError, type IntrospectionModuleOptions, type IntrospectionService } from '../lib/index.js';
import { CLIENTS, EmbeddedAuthorizationServer } from '../sample/embedded-authorization-server.js';
import { createEngine, sleep } from './support/engine.js';

/**
 * A TCP middlebox on 127.0.0.1 in front of the real AS, behaving like an AWS NAT gateway / NLB or a stateful
 * firewall: a flow idle for longer than `idleMs` is forgotten silently (no FIN, no RST while idle), and the next
 * packet the client sends on it is answered with an RST. The AS itself is healthy throughout: a fresh connection
 * is forwarded normally. Node's keep-alive agent (no free-socket timeout) keeps such sockets in its pool, so the
 * next lookups write on dead flows and get ECONNRESET ("socket hang up"-class errors), then succeed on new ones.
 */
class IdleResetProxy {
  resets = 0;
  connections = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly targetPort: number, private readonly idleMs: number) {}

  static async start(targetPort: number, idleMs: number): Promise<IdleResetProxy> {
    const proxy = new IdleResetProxy(targetPort, idleMs);
    proxy.server = createServer((client) => {
      proxy.connections++;
      proxy.sockets.add(client);
      let last = Date.now();
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      proxy.sockets.add(upstream);
      client.on('data', (chunk) => {
        if (Date.now() - last > idleMs) {
          // The middlebox forgot this flow: RST to the client, the AS never sees the request.
          proxy.resets++;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        last = Date.now();
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        last = Date.now();
        client.write(chunk);
      });
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', () => (upstream.destroy(), proxy.sockets.delete(client)));
      upstream.on('error', drop).on('close', () => (client.destroy(), proxy.sockets.delete(upstream)));
    });
    await new Promise<void>((resolve) => proxy.server!.listen(0, '127.0.0.1', () => resolve()));
    return proxy;
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/**
 * ATTACK (issue 18 part 2, weighted attempt-level breaker): ECONNRESET weighs 2, so three resets in a row open
 * the breaker (6 ≥ 5). Resets of stale kept-alive connections are routine against a HEALTHY AS: a NAT gateway or
 * load balancer idle timeout (AWS NAT: 350 s, RST on the next packet), or the AS's keepAliveTimeout racing a
 * reuse. After a quiet period every pooled socket is dead, and the next lookup's three attempts each pick one.
 */
describe('attack18: stale keep-alive resets from a healthy AS open the weighted breaker', () => {
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

  async function engine(resilience?: IntrospectionModuleOptions['resilience']): Promise<IntrospectionService> {
    const { service, close } = await createEngine({
      introspectionEndpoint: proxy.url('/token/introspection'),
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: false,
      metrics: false,
      ...(resilience ? { resilience } : {}),
    });
    cleanups.push(close);
    return service;
  }
  const reasonOf = (service: IntrospectionService, token: string) =>
    service.introspect(token).then(
      (r) => (r.active ? 'active' : 'inactive'),
      (e: unknown) => (e instanceof AuthorizationServerUnavailableError ? e.reason : String(e)),
    );

  it('ATTACK: after an idle period, a burst of lookups (pool of 6 kept-alive sockets, all stale) opens the breaker on a healthy AS', async () => {
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

  it('ATTACK: one lookup after an idle period, with three stale pooled sockets: its three attempts open the breaker', async () => {
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

  it('DEFENCE: a single stale socket (one reset, weight 2) is retried on a fresh connection and does not open it', async () => {
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
