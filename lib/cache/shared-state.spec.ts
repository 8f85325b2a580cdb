import { describe, expect, it } from '@jest/globals';
import { Keyv } from 'keyv';
import { resolveOptions } from '../options/resolve-options.js';
import { CacheSharedState } from './cache-shared-state.js';
import { IntrospectionCache } from './introspection.cache.js';
import type { CacheCoordinator } from './redis-coordinator.js';
import type { SharedState } from './shared-state.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The one-time records of Redis (SET NX PX / GET / SET PX / DEL per `<kind>:<id>`), in memory. */
function inMemoryCoordinator(): CacheCoordinator {
  const records = new Map<string, { value: string; until: number }>();
  const live = (name: string) => {
    const record = records.get(name);
    if (record && record.until <= Date.now()) records.delete(name);
    return records.get(name);
  };
  return {
    onEvicted: () => undefined,
    publishEviction: async () => undefined,
    index: async () => true,
    keysFor: async () => [],
    unindex: async () => undefined,
    claimHash: (value) => value,
    close: async () => undefined,
    async firstUse(id, ttlMs, kind = 'dpop', value = '1') {
      if (live(`${kind}:${id}`)) return false;
      records.set(`${kind}:${id}`, { value, until: Date.now() + ttlMs });
      return true;
    },
    recorded: async (id, kind = 'dpop') => live(`${kind}:${id}`)?.value ?? null,
    async record(id, value, ttlMs, kind = 'dpop') {
      records.set(`${kind}:${id}`, { value, until: Date.now() + ttlMs });
    },
    async release(id, kind = 'dpop') {
      records.delete(`${kind}:${id}`);
    },
  };
}

function cacheWith(stores: Keyv[] | undefined, coordinator?: CacheCoordinator): IntrospectionCache {
  const options = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's', cache: {} });
  return new IntrospectionCache(options.cache as Exclude<typeof options.cache, false>, options.cacheNamespace, stores, coordinator);
}

/** The `SharedState` contract, on the cache's stores: a Keyv store in memory, and Redis's one-time records in memory. */
describe('SharedState (CacheSharedState on the cache stores)', () => {
  const shared = (): SharedState => cacheWith([new Keyv()], inMemoryCoordinator()).sharedState;

  it('a one-time identifier is claimed once: the replay is refused, in its own kind only', async () => {
    const state = shared();
    expect(await state.claimOnce('jti-1', 10_000)).toBe(true);
    expect(await state.claimOnce('jti-1', 10_000)).toBe(false);
    expect(await state.claimOnce('jti-1', 10_000, 'ssf')).toBe(true);
    expect(await state.claimOnce('jti-1', 10_000, 'ssf')).toBe(false);
    expect(await state.claimOnce('jti-2', 10_000)).toBe(true);
  });

  it('a claim lasts its ttl: after it, the identifier can be claimed again', async () => {
    const state = shared();
    expect(await state.claimOnce('short', 40)).toBe(true);
    expect(await state.claimOnce('short', 40)).toBe(false);
    await sleep(80);
    expect(await state.claimOnce('short', 40)).toBe(true);
  });

  it('records hold the value they were claimed or rewritten with; a released claim can be taken again', async () => {
    const state = shared();
    expect(await state.recorded('event', 'bcl')).toBeNull();
    expect(await state.claimOnce('event', 10_000, 'bcl', 'pending')).toBe(true);
    expect(await state.recorded('event', 'bcl')).toBe('pending');
    await state.record('event', 'done', 10_000, 'bcl');
    expect(await state.recorded('event', 'bcl')).toBe('done');
    expect(await state.claimOnce('event', 10_000, 'bcl', 'pending')).toBe(false);
    await state.release('event', 'bcl');
    expect(await state.recorded('event', 'bcl')).toBeNull();
    expect(await state.claimOnce('event', 10_000, 'bcl', 'pending')).toBe(true);
  });

  it('marks are read back in order, undefined where none, and end with their ttl (a ttl <= 0 writes nothing)', async () => {
    const state = shared();
    expect(state.sharesMarks).toBe(true);
    await state.writeMark('sub:abc', 1234, 10_000);
    // 1 s: a loaded CI machine took more than 40 ms between this write and the read below.
    await state.writeMark('token-key', 5678, 1000);
    await state.writeMark('never', 1, 0);
    expect(await state.readMarks(['token-key', 'unknown', 'sub:abc', 'never'])).toEqual([5678, undefined, 1234, undefined]);
    await sleep(1100);
    expect(await state.readMarks(['token-key', 'sub:abc'])).toEqual([undefined, 1234]);
  });

  it('marks written by one replica are read by another on the same store', async () => {
    const store = new Keyv();
    const a = cacheWith([store], inMemoryCoordinator()).sharedState;
    const b = cacheWith([store], inMemoryCoordinator()).sharedState;
    await a.writeMark('client_id:x', 42, 10_000);
    expect(await b.readMarks(['client_id:x'])).toEqual([42]);
  });

  it('a store that does not answer: reading marks degrades to none (in bounded time), writing one rejects', async () => {
    const never = () => new Promise<never>(() => undefined);
    const frozen = new Keyv({ store: { get: never, set: never, delete: never, clear: never } as never });
    const state = cacheWith([frozen], inMemoryCoordinator()).sharedState;
    expect(await state.readMarks(['a', 'b'])).toEqual([undefined, undefined]);
    await expect(state.writeMark('a', 1, 10_000)).rejects.toThrow(/JWT revocation mark/);
  });

  it('a plain cache.store (no Redis): marks are shared, one-time identifiers are not (nothing to ask)', async () => {
    const state = cacheWith([new Keyv()]).sharedState;
    expect(state.sharesMarks).toBe(true);
    expect(await state.claimOnce('jti', 10_000)).toBeUndefined();
    expect(await state.claimOnce('jti', 10_000)).toBeUndefined();
    expect(await state.recorded('jti')).toBeNull();
  });

  it.each([
    ['no cache', () => new CacheSharedState()],
    ['an in-process cache', () => cacheWith(undefined).sharedState],
  ])('%s: nothing is shared, every operation answers as if nothing were recorded', async (_, make) => {
    const state = make();
    expect(state.sharesMarks).toBe(false);
    expect(await state.claimOnce('jti', 10_000)).toBeUndefined();
    expect(await state.recorded('jti')).toBeNull();
    await expect(state.record('jti', 'done', 10_000)).resolves.toBeUndefined();
    await expect(state.release('jti')).resolves.toBeUndefined();
    await expect(state.writeMark('m', 1, 10_000)).resolves.toBeUndefined();
    expect(await state.readMarks(['m', 'n'])).toEqual([undefined, undefined]);
  });

  it('the cache methods features used before the port are the same state', async () => {
    const cache = cacheWith([new Keyv()], inMemoryCoordinator());
    expect(await cache.firstUseShared('p', 10_000)).toBe(true);
    expect(await cache.sharedState.claimOnce('p', 10_000)).toBe(false);
    await cache.writeMark('m', 7, 10_000);
    expect(await cache.sharedState.readMarks(['m'])).toEqual([7]);
  });
});
