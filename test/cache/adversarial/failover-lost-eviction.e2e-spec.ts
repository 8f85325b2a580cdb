// Issue 26: Redis replicates asynchronously, so a master that dies right after acknowledging an eviction's deletes
// leaves a promoted replica that still holds the revoked token's entry (and no tombstone). The replicas that made or
// heard the eviction refuse that older entry (they remember when each key was evicted), but a replica started since
// (a new pod, a restart) does not. Here that loss is made certain: the entry is written back and its tombstones removed
// after evict() resolved (what the promoted replica would hold), then the sentinels fail the master over. Every replica
// must apply its recent evictions again when it sees the new master, so that a third replica started afterwards refuses
// the token too.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { IntrospectionService, type IntrospectionModuleOptions } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { describeWithTopology, TestRedisSentinel } from '../../support/redis-topology.js';
import { get, timeUntil, type Replica } from '../../support/topology-soak.js';

describeWithTopology('an eviction the promoted Redis replica never saw (asynchronous replication, Sentinel failover)', () => {
  let set: TestRedisSentinel;
  let as: TestAuthorizationServer;
  let a: Replica;
  let b: Replica;
  let c: Replica | undefined;
  let options: IntrospectionModuleOptions;

  beforeAll(async () => {
    [set, as] = await Promise.all([TestRedisSentinel.start(), TestAuthorizationServer.start()]);
    options = {
      introspectionEndpoint: as.introspectionEndpoint,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: {
        redis: { sentinel: { name: set.name, sentinelRootNodes: set.sentinelRootNodes, nodeClientOptions: { password: set.password } } },
        keyPrefix: 'lost',
        storeTimeoutMs: 100,
      },
    };
    a = await startApp('express', options);
    b = await startApp('fastify', options);
    await sleep(500);
  }, 60_000);

  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await c?.app.close();
    await as?.stop();
    await set?.stop();
  });

  it('is applied again by every replica once it sees the new master: the revoked token stays refused, also by a replica started afterwards', async () => {
    const token = await as.issueToken({ scope: 'read' });
    for (const r of [a, b]) expect((await get(r, token)).status).toBe(200);
    const master = set.masterPort();
    const keys = set.cli(master, 'KEYS', 'lost::*').split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    const saved = keys.map((key) => [key, set.cli(master, 'GET', key)] as const);
    await as.revoke(token);
    await a.app.get(IntrospectionService).evict(token);
    expect(await timeUntil(b, token, 401, 1000)).toBeDefined();
    // What the replica holds when the deletes were not replicated before the master died: the entries, no tombstones.
    // Written on the replica itself (made writable for this), since the sentinels are about to promote it.
    const replica = set.replicaPort();
    set.cli(replica, 'CONFIG', 'SET', 'replica-read-only', 'no');
    for (const [key, value] of saved) expect(set.cli(replica, 'SET', key, value, 'PX', '60000')).toBe('OK');
    for (const mark of set.cli(replica, 'KEYS', 'lost-evicted::*').split('\n').filter(Boolean)) set.cli(replica, 'DEL', mark);
    set.failover();
    await set.waitHealthy(master);
    // The resync runs at once and again a second later on every replica that sees the new master.
    await sleep(2500);
    expect(set.masterPort()).toBe(replica);
    c = await startApp('express', options);
    for (const r of [c, a, b]) for (let i = 0; i < 3; i++) expect((await get(r, token)).status).toBe(401);
  }, 60_000);
});
