// Adversarial review of evictions by claim and purges (round 10; was attack-evict-claims).
import { afterAll, describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import type { IntrospectionModuleOptions } from '../../../lib/index.js';
import { CLIENTS } from '../../support/authorization-server.js';
import { capturedLogs, createEngine, sleep } from '../../support/engine.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { itWithRedis, TestRedis } from '../../support/redis-server.js';

/**
 * Review 10 attacks: evictions by claim (sub / client_id) and purges racing lookups in flight.
 * The promise (defect 2): after evict(), evictBySubject(), evictByClientId(), purge() resolves,
 * no request that starts later is answered from a lookup that started earlier, and nothing such a
 * lookup learned is cached.
 */
describe('evictions by claim and purges racing lookups in flight', () => {
  const closers: Array<() => Promise<unknown>> = [];
  const servers: FaultyServer[] = [];
  afterAll(async () => {
    for (const c of closers) await c();
    for (const s of servers) await s.stop();
  });
  const engine = async (options: Partial<IntrospectionModuleOptions>) => {
    const e = await createEngine({ allowInsecureRequests: true, ...CLIENTS.basic, ...options });
    closers.push(e.close);
    return e.service;
  };
  /** An AS whose pre-revocation answers for alice are slow (400 ms): the eviction lands while they are in flight. */
  const slowAs = async () => {
    const state = { revoked: false };
    const server = await FaultyServer.start((req, res, body) => {
      const answer = state.revoked
        ? { active: false }
        : { active: true, scope: 'read', token_type: 'Bearer', sub: 'alice', client_id: 'mobile', exp: Math.floor(Date.now() / 1000) + 600 };
      return behave.delay(state.revoked ? 0 : 400, behave.json(answer))(req, res, body);
    });
    servers.push(server);
    return { server, state };
  };

  for (const claim of ['sub', 'client_id'] as const) {
    it(`in memory: evictBy${claim === 'sub' ? 'Subject' : 'ClientId'}() resolved, a token of that ${claim} is not answered from a lookup that started before, and nothing it learned is cached`, async () => {
      const { server, state } = await slowAs();
      const service = await engine({ introspectionEndpoint: server.url, cache: { negativeTtlSeconds: 0 } });
      const early = service.introspect('alice-token');
      await sleep(100);
      state.revoked = true; // the AS revoked every token of alice / of the client ...
      await (claim === 'sub' ? service.evictBySubject('alice') : service.evictByClientId('mobile')); // ... and told us
      // A request that starts after the eviction resolved:
      const late = await service.introspect('alice-token');
      await early;
      expect(late).toEqual({ active: false, reason: 'inactive' }); // observed: active (joined the pre-eviction lookup)
      // and nothing the pre-eviction lookup learned is cached:
      expect(await service.introspect('alice-token')).toEqual({ active: false, reason: 'inactive' }); // observed: active from cache
    });
  }

  itWithRedis(
    'across replicas: a lookup in flight on B when A evicts by subject leaves its pre-eviction answer neither in Redis (C refuses the token) nor in B’s memory',
    async () => {
      const redis = await TestRedis.start();
      closers.push(() => redis.kill());
      const { server, state } = await slowAs();
      const options = { introspectionEndpoint: server.url, cache: { redis: redis.url, keyPrefix: 'evict-by-sub-race', negativeTtlSeconds: 0 } };
      const a = await engine(options);
      const b = await engine(options);
      await sleep(300); // let both connect to Redis
      const onB = b.introspect('alice-token');
      await sleep(100);
      state.revoked = true;
      await a.evictBySubject('alice'); // resolves: "every token of alice, on every replica"
      await onB; // B's waiting caller may get either answer, depending on when its reads land
      await sleep(200);
      const c = await engine(options); // a replica started after the eviction
      await sleep(300); // let it connect to Redis
      expect(await c.introspect('alice-token')).toEqual({ active: false, reason: 'inactive' }); // observed: active, from Redis
      expect(await b.introspect('alice-token')).toEqual({ active: false, reason: 'inactive' }); // observed: active, from B's memory
    },
  );

  it('cache.store (plain Keyv shared by two replicas): a lookup in flight on A does not undo purge() on B', async () => {
    const shared = new Keyv(); // one store both replicas use (what a Keyv on Redis/Memcached/etc. is to two processes)
    const { server, state } = await slowAs();
    const options = { introspectionEndpoint: server.url, cache: { store: shared, negativeTtlSeconds: 0, localTtlSeconds: 0 } };
    const a = await engine(options);
    const b = await engine(options);
    const onA = a.introspect('alice-token');
    await sleep(100);
    state.revoked = true; // e.g. the AS lost its state; the operator purges
    await b.purge();
    await onA; // its own answer may be either, depending on when its reads land
    await sleep(100);
    expect(await b.introspect('alice-token')).toEqual({ active: false, reason: 'inactive' }); // observed: active (A wrote it back after the purge)
  });

  it("cache.store with localTtlSeconds > 0: the start-up warns that evictions cannot reach other replicas' memory (documented)", async () => {
    capturedLogs.length = 0;
    await engine({ introspectionEndpoint: 'http://127.0.0.1:9/introspect', cache: { store: new Keyv(), localTtlSeconds: 30 } });
    expect(capturedLogs.some((line) => line.includes('`cache.localTtlSeconds` is above 0 with a plain `cache.store`'))).toBe(true);
  });
});
