// Adversarial review of Redis Cluster failovers (round 4; was zz-review4/cluster-subfreeze): the node holding a
// replica's eviction subscription, not the service slot's master, frozen (SIGSTOP) and failed over by the cluster.
// No socket closes and no command fails, so nothing but the subscription heartbeat notices that it went deaf.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { IntrospectionService, type IntrospectionModuleOptions } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { describeWithTopology, TestRedisCluster } from '../../support/redis-topology.js';
import { get, IntrospectionCounter, sharedAgain, timeUntil, type Replica } from '../../support/topology-soak.js';

describeWithTopology('a Redis Cluster node holding an eviction subscription frozen (SIGSTOP) and failed over', () => {
  let c: TestRedisCluster;
  let as: TestAuthorizationServer;
  let counter: IntrospectionCounter;
  let a: Replica;
  let b: Replica;
  let frozen: number | undefined;
  let options: IntrospectionModuleOptions;
  const subscribers = (): Array<{ port: number; count: number }> =>
    c.ports.map((port) => ({ port, count: Number(c.cli(port, 'PUBSUB', 'NUMSUB', 'topo:evictions').split('\n')[1] ?? 0) }));

  beforeAll(async () => {
    [c, as] = await Promise.all([TestRedisCluster.start(), TestAuthorizationServer.start()]);
    counter = await IntrospectionCounter.start(as.introspectionEndpoint);
    options = {
      introspectionEndpoint: counter.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: { cluster: { rootNodes: c.rootNodes } }, keyPrefix: 'topo', storeTimeoutMs: 100, localTtlSeconds: 30 },
    };
    a = await startApp('express', options);
    b = await startApp('fastify', options);
    await sleep(500);
  }, 60_000);

  afterAll(async () => {
    if (frozen) (c as unknown as { node(port: number): { process: { kill(signal: string): void } } }).node(frozen).process.kill('SIGCONT');
    await a?.app.close();
    await b?.app.close();
    await counter?.stop();
    await as?.stop();
    await c?.stop();
  });

  async function evictUntilResolved(r: Replica, token: string): Promise<void> {
    for (;;) {
      try {
        return await r.app.get(IntrospectionService).evict(token);
      } catch {
        await sleep(100);
      }
    }
  }

  it('the other replica refuses a token within 1 s of evict() resolving (its in-process copy is not served for the local TTL)', async () => {
    expect(await sharedAgain(as, counter, a, b)).toBe(true);
    const slotMaster = c.masterOf('{topo}');
    // node-redis picks the subscription's node at random: restart replica B until one subscription is off the slot's master.
    let target = subscribers().find((s) => s.count > 0 && s.port !== slotMaster);
    for (let i = 0; !target && i < 8; i++) {
      await b.app.close();
      b = await startApp('fastify', options);
      await sleep(500);
      target = subscribers().find((s) => s.count > 0 && s.port !== slotMaster);
    }
    expect(target).toBeDefined();
    (c as unknown as { node(port: number): { process: { kill(signal: string): void } } }).node(target!.port).process.kill('SIGSTOP');
    frozen = target!.port;
    const t0 = performance.now();
    const seen: string[] = [];
    const late: string[] = [];
    while (performance.now() - t0 < 12_000 && seen.length < 6) {
      for (const [from, to, name] of [
        [a, b, 'a->b'],
        [b, a, 'b->a'],
      ] as const) {
        const token = await as.issueToken({ scope: 'read' });
        for (const r of [a, b]) expect((await get(r, token)).status).toBe(200);
        await as.revoke(token);
        await evictUntilResolved(from, token);
        const took = await timeUntil(to, token, 401, 12_000);
        const line = `${Math.round(performance.now() - t0)} ms after the freeze, ${name}: 401 after ${took === undefined ? 'never' : Math.round(took)} ms`;
        seen.push(line);
        if (took === undefined || took > 1000) late.push(line);
      }
    }
    console.log(`deaf subscription: ${seen.join('; ')}`);
    expect(late).toEqual([]);
  }, 90_000);
});
