// Issue 26 review: the cluster's first master frozen (SIGSTOP) while the other nodes are briefly slow to answer
// (CLIENT PAUSE: PINGs over the healer's 300 ms probe). The healer must not start node-redis's one running slot-map
// rediscovery from a node it has not seen answering (the frozen one): that rediscovery would never return, and every
// later one, MOVED healing included, would wait on it.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { IntrospectionService } from '../../../lib/index.js';
import type { TestAuthorizationServer } from '../../support/authorization-server.js';
import { FirstMasterReplicas } from '../../support/cluster-first-master.js';
import { sleep } from '../../support/engine.js';
import { describeWithTopology, type TestRedisCluster } from '../../support/redis-topology.js';
import { get, type IntrospectionCounter, sharedAgain, timeUntil, type Replica } from '../../support/topology-soak.js';

describeWithTopology('a Redis Cluster whose first master freezes while the other nodes are briefly slow', () => {
  let s: FirstMasterReplicas;
  let c: TestRedisCluster;
  let as: TestAuthorizationServer;
  let counter: IntrospectionCounter;
  let a: Replica;
  let b: Replica;
  let prefix: string;

  beforeAll(async () => {
    s = await FirstMasterReplicas.start();
    ({ cluster: c, as, counter, a, b, prefix } = s);
  }, 60_000);

  afterAll(() => s?.stop());

  it('the shared tier is back within 5 s of the cluster reporting healthy, with no 500 meanwhile, and evictions reach the other replica', async () => {
    expect(await sharedAgain(as, counter, a, b)).toBe(true);
    const master = c.masterOf(`{${prefix}}`);
    const other = c.ports.find((p) => p !== master)!;
    const pool = await Promise.all(Array.from({ length: 5 }, () => as.issueToken({ scope: 'read' })));
    for (const t of pool) for (const r of [a, b]) await get(r, t);
    expect(master).toBe(c.ports[0]);
    for (const p of c.ports) if (p !== master) c.cli(p, 'CLIENT', 'PAUSE', '3000', 'ALL');
    s.freeze(master);
    // No spawnSync (it would block the apps too) while the others are paused: only requests, so the first poke falls in the pause.
    for (const tEnd = performance.now() + 2800; performance.now() < tEnd;) {
      await Promise.all([get(a, await as.issueToken({ scope: 'read' })), get(b, pool[1])]);
      await sleep(100);
    }
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
