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
