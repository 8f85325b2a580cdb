/**
 * Issue 26: two app replicas (Express and Fastify) over a Redis Cluster and over a Sentinel set, a real authorization
 * server (oidc-provider): sharing, evictions within 1 s, and failovers under steady load.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { IntrospectionService, type IntrospectionModuleOptions } from '../../lib/index.js';
import { startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { describeWithTopology, TestRedisCluster, TestRedisSentinel } from '../support/redis-topology.js';
import { get, IntrospectionCounter, sharedAgain, soak, timeUntil, type Replica } from '../support/topology-soak.js';

const KEY_PREFIX = 'topo';

interface Topology {
  readonly redis: NonNullable<Exclude<IntrospectionModuleOptions['cache'], false | undefined>['redis']>;
  /** redis-cli against the master holding this service's keys. */
  cli(...args: string[]): string;
  /** The faults of the soak, at their times (ms from its start). */
  faults(): Array<{ at: number; fault: string; inject: () => Promise<void>; healthy: () => Promise<void> }>;
  stop(): Promise<void>;
}

async function cluster(): Promise<Topology> {
  const c = await TestRedisCluster.start();
  const slotKey = `{${KEY_PREFIX}}`;
  return {
    redis: { cluster: { rootNodes: c.rootNodes } },
    cli: (...args) => c.cli(c.masterOf(slotKey), ...args),
    faults: () => {
      let killed = 0;
      return [
        {
          at: 3000,
          fault: "the master of the service's slot killed, then its replica promoted (CLUSTER FAILOVER FORCE)",
          inject: async () => {
            killed = c.masterOf(slotKey);
            const [replica] = c.replicasOf(killed);
            await c.kill(killed);
            c.failover(replica, 'FORCE');
          },
          // The killed node comes back as the new master's replica, for the next fault.
          healthy: async () => {
            await c.waitHealthy();
            await c.restart(killed);
          },
        },
        {
          at: 10_000,
          fault: "the master of the service's slot killed, its replica promoted by the cluster (cluster-node-timeout 1500 ms)",
          inject: () => c.kill(c.masterOf(slotKey)),
          healthy: () => c.waitHealthy(20_000),
        },
      ];
    },
    stop: () => c.stop(),
  };
}

async function sentinel(): Promise<Topology> {
  const s = await TestRedisSentinel.start();
  return {
    redis: { sentinel: { name: s.name, sentinelRootNodes: s.sentinelRootNodes, nodeClientOptions: { password: s.password } } },
    cli: (...args) => s.cli(s.masterPort(), ...args),
    faults: () => {
      let before = 0;
      return [
        {
          at: 3000,
          fault: 'SENTINEL FAILOVER',
          inject: async () => {
            before = s.masterPort();
            s.failover();
          },
          healthy: () => s.waitHealthy(before),
        },
        {
          at: 10_000,
          fault: 'the master killed (SIGKILL)',
          inject: async () => void (before = await s.killMaster()),
          healthy: () => s.waitHealthy(before),
        },
      ];
    },
    stop: () => s.stop(),
  };
}

for (const [title, start] of [
  ['a Redis Cluster (3 masters, 3 replicas)', cluster],
  ['a Sentinel set (1 master, 1 replica, 3 sentinels)', sentinel],
] as const) {
  describeWithTopology(`two replicas over ${title}`, () => {
    let topology: Topology;
    let as: TestAuthorizationServer;
    let counter: IntrospectionCounter;
    let a: Replica;
    let b: Replica;

    beforeAll(async () => {
      [topology, as] = await Promise.all([start(), TestAuthorizationServer.start()]);
      counter = await IntrospectionCounter.start(as.introspectionEndpoint);
      const options: IntrospectionModuleOptions = {
        introspectionEndpoint: counter.url,
        allowInsecureRequests: true,
        ...CLIENTS.basic,
        cache: { redis: topology.redis, keyPrefix: KEY_PREFIX, storeTimeoutMs: 100 },
      };
      a = await startApp('express', options);
      b = await startApp('fastify', options);
      await sleep(500); // subscribed
    }, 60_000);
    afterAll(async () => {
      await a?.app.close();
      await b?.app.close();
      await counter?.stop();
      await as?.stop();
      await topology?.stop();
    });

    it('a token introspected by one replica is a hit on the other, with no call to the authorization server', async () => {
      expect(await sharedAgain(as, counter, a, b)).toBe(true);
      const token = await as.issueToken({ scope: 'read' });
      expect((await get(b, token)).status).toBe(200);
      await sleep(50);
      for (let i = 0; i < 5; i++) expect((await get(a, token)).status).toBe(200);
      expect(counter.count(token)).toBe(1);
      // Memory per shared entry: the entry, and the index sets it is the only member of (its client's set is shared).
      const keys = topology
        .cli('KEYS', `*${KEY_PREFIX}*::*`)
        .split('\n')
        .filter((k) => !k.includes('-evicted'));
      const entry = Number(topology.cli('MEMORY', 'USAGE', keys[0]));
      console.log(`${title}: MEMORY USAGE of one shared entry: ${entry} bytes (${keys.length} entries)`);
      expect(entry).toBeGreaterThan(0);
    });

    it('evict, evictBySubject, evictByClientId and purge on one replica reach the other within 1 s (measured)', async () => {
      const service = a.app.get(IntrospectionService);
      const cached = async (token: string) => {
        for (const replica of [a, b]) expect((await get(replica, token)).status).toBe(200);
      };
      const times: Record<string, number | undefined> = {};
      const token = await as.issueToken({ scope: 'read' });
      await cached(token);
      await as.revoke(token);
      await service.evict(token);
      times.evict = await timeUntil(b, token, 401);

      const session = await as.issueSessionToken('alice', 'openid read');
      await cached(session.token);
      await as.revokeAs(CLIENTS.web, session.token);
      expect(await service.evictBySubject('alice')).toBeGreaterThanOrEqual(1);
      times.evictBySubject = await timeUntil(b, session.token, 401);

      await sleep(1100); // lookups that began within the cross-replica clock margin of the eviction above are not cached
      const byClient = await as.issueToken({ scope: 'read' });
      await cached(byClient);
      await as.revoke(byClient);
      expect(await service.evictByClientId(CLIENTS.app.clientId)).toBeGreaterThanOrEqual(1);
      times.evictByClientId = await timeUntil(b, byClient, 401);

      await sleep(1100);
      const purged = await as.issueToken({ scope: 'read' });
      await cached(purged);
      await as.revoke(purged);
      await service.purge();
      times.purge = await timeUntil(b, purged, 401);
      console.log(`${title}: evict → 401 on the other replica, ms: ${JSON.stringify(times, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`);
      for (const took of Object.values(times)) expect(took).toBeLessThan(1000);
    }, 20_000);

    it('failovers under steady load: no valid token refused, no revocation lost, the shared tier back by itself', async () => {
      await sleep(1100);
      const report = await soak(as, counter, [a, b], 18_000, topology.faults());
      console.log(`${title}: soak: ${JSON.stringify(report)}`);
      expect(report.validRefused).toBe(0);
      expect(report.revocationsLost).toBe(0);
      expect(report.revocations).toBeGreaterThan(5);
      expect(report.faults.length).toBe(topology.faults().length);
      for (const f of report.faults) expect(f.recoveredAfterHealthyMs).toBeLessThan(5000);
    }, 90_000);
  });
}
