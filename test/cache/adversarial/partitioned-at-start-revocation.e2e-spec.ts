// Issue 26 (third adversarial review): like partitioned-replica-revocation, but the replica STARTS while its path to Redis is
// black-holed (a pod scheduled during a partition, a hung sidecar from the start). Its eviction subscription never
// completes, so the heartbeat (started only once subscribed) never runs: the subscription is never proven and never
// suspect, and the replica serves a token another replica evicted from process memory for its whole local TTL.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { IntrospectionService } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { capturedLogs, sleep } from '../../support/engine.js';
import { describeWithRedis, TestRedis } from '../../support/redis-server.js';
import { get, IntrospectionCounter, type Replica } from '../../support/topology-soak.js';

/** A TCP proxy that can black-hole: stop forwarding both ways, sockets kept open (no FIN, no RST). */
class BlackholeProxy {
  blackholed = false;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}
  static async start(target: number): Promise<BlackholeProxy> {
    const server = createServer();
    const proxy = new BlackholeProxy(server);
    server.on('connection', (down) => {
      const up = connect(target, '127.0.0.1');
      proxy.sockets.add(down).add(up);
      down.on('data', (d) => void (!proxy.blackholed && up.write(d)));
      up.on('data', (d) => void (!proxy.blackholed && down.write(d)));
      const end = () => (down.destroy(), up.destroy());
      down.on('close', end).on('error', end);
      up.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return proxy;
  }
  get port(): number {
    return (this.server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describeWithRedis('a replica started while black-holed from a single-node Redis, while another replica evicts', () => {
  let redis: TestRedis;
  let proxy: BlackholeProxy;
  let as: TestAuthorizationServer;
  let counter: IntrospectionCounter;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    [redis, as] = await Promise.all([TestRedis.start(), TestAuthorizationServer.start()]);
    proxy = await BlackholeProxy.start(redis.port);
    proxy.blackholed = true;
    counter = await IntrospectionCounter.start(as.introspectionEndpoint);
    const base = { introspectionEndpoint: counter.url, allowInsecureRequests: true, ...CLIENTS.basic };
    const cache = { keyPrefix: 'part3', storeTimeoutMs: 100, localTtlSeconds: 30, ttlSeconds: 60, revalidation: { refreshAheadWindow: 0 } };
    a = await startApp('express', { ...base, cache: { ...cache, redis: { url: redis.urlAt(proxy.port) } } });
    b = await startApp('fastify', { ...base, cache: { ...cache, redis: { url: redis.url } } });
    await sleep(1500);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
    await proxy?.stop();
    await counter?.stop();
    await as?.stop();
    await redis?.kill();
  }, 30_000);

  it('the replica that never reached Redis stops serving a token the other replica evicted within ~2 s', async () => {
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token)).status).toBe(200);
    expect((await get(b, token)).status).toBe(200);
    await as.revoke(token);
    await b.app.get(IntrospectionService).evict(token);
    const t0 = performance.now();
    const seen: Record<number, number> = {};
    let refusedAt: number | undefined;
    while (performance.now() - t0 < 8000) {
      const s = (await get(a, token)).status;
      seen[s] = (seen[s] ?? 0) + 1;
      if (s !== 200) {
        refusedAt = performance.now() - t0;
        break;
      }
      await sleep(100);
    }
    console.log(
      'replica started partitioned, after evict() on the other:',
      JSON.stringify(seen),
      'refused after',
      refusedAt,
      'AS lookups',
      counter.count(token),
    );
    // Why: the heartbeat starts only once subscribed, and this replica never subscribed — it never warned of a deaf subscription.
    console.log(
      'deaf-subscription warnings:',
      capturedLogs.filter((l) => /not hearing its heartbeat/.test(l)).length,
      'of',
      capturedLogs.filter((l) => /Redis/.test(l)).length,
      'Redis log lines',
    );
    expect(refusedAt).toBeDefined();
    expect(refusedAt!).toBeLessThan(2000);
  }, 30_000);
});
