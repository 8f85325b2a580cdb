// Adversarial review of eviction tombstones across replicas (round 10; was attack-tombstone-window).
import { afterAll, expect, it } from '@jest/globals';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { IntrospectionModuleOptions } from '../../../lib/index.js';
import { CLIENTS } from '../../support/authorization-server.js';
import { createEngine, sleep } from '../../support/engine.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { describeWithRedis, TestRedis } from '../../support/redis-server.js';

/** A loopback TCP proxy in front of the real Redis that delays what Redis sends back (a slow link to one replica). */
async function slowLink(redis: TestRedis, delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const targetPort = redis.port;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => setTimeout(() => client.writable && client.write(d), delayMs));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: redis.urlAt(port),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * Review 10 attack: the tombstone window. Replica B's lookup started before replica A's eviction;
 * its shared write lands after the eviction. The tombstone makes B delete the entry again, but
 * (1) between B's SET and B's undo, another replica can read the entry and keep it in its front
 * tier (the undo is not broadcast), and (2) when B's SET or tombstone read merely *times out*
 * (soft), B skips the undo although the SET landed.
 */
describeWithRedis('evictions across replicas while a late shared write lands (real Redis, slow link to B)', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
  });
  const engine = async (options: IntrospectionModuleOptions) => {
    const e = await createEngine(options);
    closers.push(e.close);
    return e.service;
  };

  const setUp = async (delayMs: number, storeTimeoutMs: number, prefix: string) => {
    const redis = await TestRedis.start();
    closers.push(() => redis.kill());
    const link = await slowLink(redis, delayMs);
    closers.push(link.close);
    const state = { revoked: false };
    const as = await FaultyServer.start((req, res, body) => {
      const answer = state.revoked
        ? { active: false }
        : { active: true, scope: 'read', token_type: 'Bearer', sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 };
      return behave.delay(state.revoked ? 0 : 400, behave.json(answer))(req, res, body);
    });
    closers.push(() => as.stop());
    const base = { introspectionEndpoint: as.url, allowInsecureRequests: true, ...CLIENTS.basic };
    const cache = { keyPrefix: prefix, negativeTtlSeconds: 0, storeTimeoutMs };
    const a = await engine({ ...base, cache: { ...cache, redis: redis.url } });
    const b = await engine({ ...base, cache: { ...cache, redis: link.url } }); // B reaches Redis over a slow link
    const c = await engine({ ...base, cache: { ...cache, redis: redis.url } });
    await sleep(1500); // all connected and subscribed
    return { redis, as, state, a, b, c };
  };

  it('a replica reading between B’s late SET and B’s undo never serves the evicted token, and Redis is left without it', async () => {
    const { redis, state, a, b, c } = await setUp(300, 1000, 'window-front-tier');
    const t0 = Date.now();
    // B's shared GET answers at ~t0+300, the AS at ~t0+700, B's index write is acknowledged at ~t0+1000.
    const onB = b.introspect('alice-token');
    await sleep(800 - (Date.now() - t0));
    state.revoked = true;
    await a.evict('alice-token'); // resolves at ~t0+800: tombstone written, key deleted, broadcast (B hears it at ~t0+1100)
    await sleep(1200 - (Date.now() - t0)); // B's SET landed at ~t0+1000; its undo is sent at ~t0+1600
    const keys = redis.cli('KEYS', 'window-front-tier::*').trim();
    const seenByC = await c.introspect('alice-token'); // a request that starts well after evict() resolved
    await onB; // its own answer may be either, depending on when its reads land
    await sleep(1000);
    const redisAfterUndo = redis.cli('KEYS', 'window-front-tier::*').trim(); // B undid its write in Redis (not broadcast)
    const seenByCAfterUndo = await c.introspect('alice-token'); // still from C's front tier (localTtlSeconds 5)
    // B's late write may sit in Redis for a moment, but it is void: readers check the tombstone with the entry.
    void keys;
    expect({ seenByC, redisAfterUndo, seenByCAfterUndo }).toEqual({
      seenByC: { active: false, reason: 'inactive' },
      redisAfterUndo: '',
      seenByCAfterUndo: { active: false, reason: 'inactive' },
    });
  });

  it('a late SET on B that times out (soft) does not leave the evicted token in Redis: other replicas refuse it', async () => {
    // storeTimeoutMs 200 (a cache read must be quick); B's link answers after 300 ms. The coordinator's
    // own bound is max(1000, 5 × storeTimeoutMs), so B's index write succeeds, then its SET "fails".
    const { redis, state, a, b, c } = await setUp(300, 200, 'window-soft-set');
    const t0 = Date.now();
    if (process.env.TRACE) {
      const bc = (b as any).cache;
      for (const [obj, name] of [
        [bc.shared, 'set'],
        [bc.tombstones, 'mget'],
        [bc.coordinator, 'index'],
        [bc, 'onRemoteEviction'],
        [bc, 'storeActive'],
      ] as const) {
        const orig = obj[name].bind(obj);
        obj[name] = (...x: any[]) => {
          console.log('B', name, 'start', Date.now() - t0);
          const r = orig(...x);
          void Promise.resolve(r).then((v: any) => console.log('B', name, 'done', Date.now() - t0, typeof v === 'boolean' ? v : ''));
          return r;
        };
      }
    }
    const onB = b.introspect('alice-token'); // AS answers at ~t0+400; B's index reply arrives ~t0+700 (within the 1 s bound)
    await sleep(500 - (Date.now() - t0));
    state.revoked = true;
    await a.evict('alice-token'); // ~t0+500: tombstone, delete, broadcast (B hears it at ~t0+800)
    await onB; // its own answer may be either, depending on when its reads land
    await sleep(1500 - (Date.now() - t0)); // B's SET landed at ~t0+700 and timed out at ~t0+900 on B's side
    const keys = redis.cli('KEYS', 'window-soft-set::*').trim();
    const seenByC = await c.introspect('alice-token');
    expect({ entryInRedisAfterEviction: keys !== '', seenByC }).toEqual({ entryInRedisAfterEviction: false, seenByC: { active: false, reason: 'inactive' } });
  });

  it('a shared read in flight when evict() runs on the same replica does not put the evicted token back into its front tier', async () => {
    const { state, a, b } = await setUp(300, 1000, 'read-racing-evict');
    // A caches the token in Redis; B has never seen it (empty front tier).
    expect((await a.introspect('alice-token-2')).active).toBe(true);
    await sleep(200);
    const t0 = Date.now();
    const early = b.introspect('alice-token-2'); // B's GET is answered by Redis at once, the reply reaches B at ~t0+300
    await sleep(50);
    state.revoked = true;
    await b.evict('alice-token-2'); // drops B's memory at ~t0+50, then tombstone + delete + broadcast; resolves at ~t0+950
    const resolvedAt = Date.now() - t0;
    await early; // the request that started before the eviction may get either answer
    // Requests that start after evict() resolved:
    const later = await b.introspect('alice-token-2');
    await sleep(1000);
    const evenLater = await b.introspect('alice-token-2');
    expect({ resolvedAt: resolvedAt > 300, later, evenLater }).toEqual({
      resolvedAt: true,
      later: { active: false, reason: 'inactive' },
      evenLater: { active: false, reason: 'inactive' },
    });
  });

  it("A's newer inactive answer wins over an older active answer B writes to Redis later (AS inactive answers leave no tombstone)", async () => {
    const { state, a, b, c } = await setUp(300, 1000, 'older-answer-wins');
    const t0 = Date.now();
    // B: shared miss answered at ~t0+300, AS (pre-revocation, slow) at ~t0+700, then entry and index in one
    // transaction, landing at ~t0+700 (acknowledged at ~t0+1000). A asks while B's lookup is still at the AS.
    const onB = b.introspect('alice-token-3');
    await sleep(650 - (Date.now() - t0));
    state.revoked = true;
    const onA = await a.introspect('alice-token-3'); // the AS's newer answer, at ~t0+660
    expect(onA).toEqual({ active: false, reason: 'inactive' });
    await onB; // its own answer may be either, depending on when its reads land
    await sleep(1800 - (Date.now() - t0));
    const seenByC = await c.introspect('alice-token-3');
    const seenByA = await a.introspect('alice-token-3'); // negativeTtlSeconds 0: A asks the shared tier again
    expect({ seenByC, seenByA }).toEqual({ seenByC: { active: false, reason: 'inactive' }, seenByA: { active: false, reason: 'inactive' } });
  });
});
