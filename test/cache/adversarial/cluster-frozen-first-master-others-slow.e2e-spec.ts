// Issue 26 review: the cluster's first master frozen (SIGSTOP) while the other nodes are briefly slow to answer
// (CLIENT PAUSE: PINGs over the healer's 300 ms probe). The healer must not start node-redis's one running slot-map
// rediscovery from a node it has not seen answering (the frozen one): that rediscovery would never return, and every
// later one, MOVED healing included, would wait on it.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { IntrospectionService, type IntrospectionModuleOptions } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { describeWithTopology, TestRedisCluster } from '../../support/redis-topology.js';
import { get, IntrospectionCounter, sharedAgain, timeUntil, type Replica } from '../../support/topology-soak.js';

describeWithTopology('a Redis Cluster whose first master freezes while the other nodes are briefly slow', () => {
  let c: TestRedisCluster;
  let as: TestAuthorizationServer;
  let counter: IntrospectionCounter;
  let a: Replica;
  let b: Replica;
  let frozen: number | undefined;
  let prefix = 'topo';
  const node = (port: number) => (c as unknown as { node(port: number): { process: { kill(signal: string): void } } }).node(port);

  beforeAll(async () => {
    [c, as] = await Promise.all([TestRedisCluster.start(), TestAuthorizationServer.start()]);
    // A key prefix whose slot is in the first slot range: its master is the cluster's first master.
    const port0 = c.ports[0];
    const slots = c.cli(port0, 'CLUSTER', 'SLOTS').split('\n');
    const [from, to] = [Number(slots[0]), Number(slots[1])];
    for (let i = 0; ; i++) {
      const slot = Number(c.cli(port0, 'CLUSTER', 'KEYSLOT', `{p${i}}`));
      if (slot >= from && slot <= to) {
        prefix = `p${i}`;
        break;
      }
    }
    counter = await IntrospectionCounter.start(as.introspectionEndpoint);
    const options: IntrospectionModuleOptions = {
      introspectionEndpoint: counter.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: { cluster: { rootNodes: c.rootNodes } }, keyPrefix: prefix, storeTimeoutMs: 100 },
    };
    a = await startApp('express', options);
    b = await startApp('fastify', options);
    await sleep(500);
  }, 60_000);

  afterAll(async () => {
    if (frozen) node(frozen).process.kill('SIGCONT');
    await a?.app.close();
    await b?.app.close();
    await counter?.stop();
    await as?.stop();
    await c?.stop();
  });

  it('the shared tier is back within 5 s of the cluster reporting healthy, with no 500 meanwhile, and evictions reach the other replica', async () => {
    expect(await sharedAgain(as, counter, a, b)).toBe(true);
    const master = c.masterOf(`{${prefix}}`);
    const other = c.ports.find((p) => p !== master)!;
    const pool = await Promise.all(Array.from({ length: 5 }, () => as.issueToken({ scope: 'read' })));
    for (const t of pool) for (const r of [a, b]) await get(r, t);
    expect(master).toBe(c.ports[0]);
    for (const p of c.ports) if (p !== master) c.cli(p, 'CLIENT', 'PAUSE', '3000', 'ALL');
    node(master).process.kill('SIGSTOP');
    console.log('DBG stop', Date.now() % 100000, master);
    // No spawnSync (it would block the apps too) while the others are paused: only requests, so the first poke falls in the pause.
    for (const tEnd = performance.now() + 2800; performance.now() < tEnd;) {
      await Promise.all([get(a, await as.issueToken({ scope: 'read' })), get(b, pool[1])]);
      await sleep(100);
    }
    frozen = master;
    const t0 = performance.now();
    const statuses: Record<number, number> = {};
    let healthyAt: number | undefined;
    let recoveredAt: number | undefined;
    while (performance.now() - t0 < 25_000) {
      for (const r of [a, b]) {
        for (const t of [pool[0], await as.issueToken({ scope: 'read' })]) {
          const res = await get(r, t);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        }
      }
      if (!healthyAt) {
        const line =
          c
            .cli(other, 'CLUSTER', 'NODES')
            .split('\n')
            .find((l) => l.includes(`:${master}@`)) ?? '';
        if (/fail/.test(line) && /cluster_state:ok/.test(c.cli(other, 'CLUSTER', 'INFO'))) healthyAt = performance.now();
      } else if (await sharedAgain(as, counter, a, b)) {
        recoveredAt = performance.now();
        break;
      }
      await sleep(200);
    }
    expect(statuses[500]).toBeUndefined();
    expect(healthyAt).toBeDefined();
    expect(recoveredAt).toBeDefined();
    expect(recoveredAt! - healthyAt!).toBeLessThan(5000);
    const token = await as.issueToken({ scope: 'read' });
    for (const r of [a, b]) await get(r, token);
    await as.revoke(token);
    await a.app.get(IntrospectionService).evict(token);
    expect(await timeUntil(b, token, 401, 1000)).toBeDefined();
  }, 90_000);
});
