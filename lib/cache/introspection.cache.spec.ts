import { describe, expect, it } from '@jest/globals';
import { validateClaims } from '../client/introspection-response.js';
import type { ActiveIntrospectionResult, InactiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { resolveOptions } from '../options/resolve-options.js';
import { IntrospectionCache } from './introspection.cache.js';

/**
 * The hot path's token → key memo (issue 18): a hit skips the SHA-256, yet evictions, expiry, newer
 * inactive answers and purges act exactly as they do on records keyed by the digest.
 */
describe('IntrospectionCache.readLocalToken (key memo of active hits)', () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const setup = (maxEntries = 100) => {
    const options = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's', cache: { maxEntries } });
    const cache = new IntrospectionCache(options.cache as Exclude<typeof options.cache, false>, options.cacheNamespace, undefined);
    const memo = (cache as unknown as { keys: Map<string, string> }).keys;
    const store = (token: string, expSeconds = Date.now() / 1000 + 3600) => {
      const now = Date.now();
      const response = { active: true as const, scope: 'read', sub: 'alice', client_id: 'app', exp: expSeconds };
      const result = validateClaims(response, { clockSkewSeconds: 0 }, now / 1000) as ActiveIntrospectionResult;
      const key = cache.key(token);
      cache.storeActive(key, token, response, result, now, cache.openTicket(key));
    };
    return { cache, memo, store };
  };

  it('remembers the key of an active hit, and an eviction still ends the hit', async () => {
    const { cache, memo, store } = setup();
    store('token-a');
    expect(cache.readLocalToken('token-a')?.result.active).toBe(true);
    expect(memo.get('token-a')).toBe(cache.key('token-a'));
    expect(cache.readLocalToken('token-a')?.result.active).toBe(true); // served through the memo
    await cache.delete([cache.key('token-a')]); // what IntrospectionService.evict(token) does
    expect(cache.readLocalToken('token-a')).toBeUndefined();
    expect(memo.has('token-a')).toBe(false);
  });

  it('an eviction by subject ends the hit too', async () => {
    const { cache, store } = setup();
    store('token-b');
    expect(cache.readLocalToken('token-b')?.result.active).toBe(true);
    expect(await cache.deleteBy('sub', 'alice')).toBe(1);
    expect(cache.readLocalToken('token-b')).toBeUndefined();
  });

  it('an eviction drops the revoked raw token from the memo at once (by token, by subject), not when it is next presented', async () => {
    const { cache, memo, store } = setup();
    store('token-f');
    store('token-g');
    expect(cache.readLocalToken('token-f')?.result.active).toBe(true);
    expect(cache.readLocalToken('token-g')?.result.active).toBe(true);
    cache.forgetToken('token-f'); // IntrospectionService.evict(token)
    await cache.delete([cache.key('token-f')]);
    expect(memo.has('token-f')).toBe(false);
    expect(memo.has('token-g')).toBe(true);
    expect(await cache.deleteBy('sub', 'alice')).toBe(1);
    expect(memo.has('token-g')).toBe(false);
  });

  it('a newer inactive answer replaces the active record the memo points to', () => {
    const { cache, memo, store } = setup();
    store('token-c');
    expect(cache.readLocalToken('token-c')?.result.active).toBe(true);
    const key = cache.key('token-c');
    const inactive: InactiveIntrospectionResult = { active: false, reason: 'inactive' };
    cache.storeInactive(key, inactive, Date.now(), cache.openTicket(key), true);
    expect(cache.readLocalToken('token-c')?.result).toEqual(inactive);
    expect(memo.has('token-c')).toBe(false);
  });

  it('a hit never outlives the token exp', async () => {
    const { cache, store } = setup();
    store('token-d', (Date.now() + 150) / 1000);
    expect(cache.readLocalToken('token-d')?.result.active).toBe(true);
    await sleep(200);
    expect(cache.readLocalToken('token-d')).toBeUndefined();
  });

  it('a purge forgets records and memo alike', async () => {
    const { cache, memo, store } = setup();
    store('token-e');
    expect(cache.readLocalToken('token-e')?.result.active).toBe(true);
    await cache.clear();
    expect(cache.readLocalToken('token-e')).toBeUndefined();
    expect(memo.size).toBe(0);
  });

  it('keeps no token that was not found active (junk stays out) and stays within maxEntries', () => {
    const { cache, memo, store } = setup(3);
    for (let i = 0; i < 50; i++) expect(cache.readLocalToken(`junk-${i}`)).toBeUndefined();
    const key = cache.key('refused');
    cache.storeInactive(key, { active: false, reason: 'inactive' }, Date.now(), cache.openTicket(key), true);
    expect(cache.readLocalToken('refused')?.result.active).toBe(false);
    expect(memo.size).toBe(0);
    for (let i = 0; i < 5; i++) {
      store(`valid-${i}`);
      cache.readLocalToken(`valid-${i}`);
    }
    expect(memo.size).toBeLessThanOrEqual(3);
    expect(memo.has('valid-4')).toBe(true);
  });
});

describe('IntrospectionCache.close (application shutdown)', () => {
  it('after close, the shared store is not touched again: reads miss, active answers are cached in process only, evictions reject', async () => {
    const options = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's', cache: { localTtlSeconds: 5 } });
    const calls: string[] = [];
    const store = new Map<string, unknown>();
    const { Keyv } = await import('keyv');
    const keyv = new Keyv({
      store: {
        get: async (k: string) => (calls.push('get'), store.get(k)),
        set: async (k: string, v: unknown) => (calls.push('set'), store.set(k, v), true),
        delete: async (k: string) => (calls.push('delete'), store.delete(k)),
        clear: async () => (calls.push('clear'), store.clear()),
      } as never,
    });
    const cache = new IntrospectionCache(options.cache as Exclude<typeof options.cache, false>, options.cacheNamespace, [keyv]);
    const now = Date.now();
    const response = { active: true as const, scope: 'read', sub: 'alice', client_id: 'app', exp: now / 1000 + 3600 };
    expect(validateClaims(response, { clockSkewSeconds: 0 }, now / 1000).active).toBe(true);
    const result = validateClaims(response, { clockSkewSeconds: 0 }, now / 1000) as ActiveIntrospectionResult;
    const key = cache.key('late');
    const ticket = cache.openTicket(key);
    await cache.close();
    calls.length = 0;
    cache.storeActive(key, 'late', response, result, now, ticket); // a lookup finishing after shutdown
    expect(cache.readLocalToken('late')?.result.active).toBe(true);
    expect(await cache.readShared(cache.key('other'), 'other', () => result)).toBeUndefined();
    await expect(cache.delete([key])).rejects.toThrow(/closed/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual([]);
  });
});
