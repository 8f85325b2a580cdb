// Adversarial review of what Redis reveals about who is logged in (round 10; was attack-redis-index-dictionary).
import { afterAll, expect } from '@jest/globals';
import { createHash } from 'node:crypto';
import { CLIENTS } from '../../support/authorization-server.js';
import { createEngine, sleep } from '../../support/engine.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { itWithRedis, TestRedis } from '../../support/redis-server.js';

/**
 * Review 10 attack (fixed by the cache.indexSecret option): "no clear-text subject, username, e-mail or client id anywhere in Redis".
 * The index keys hash the subject with an unkeyed SHA-256 salted only by the namespace, which is
 * printed in the key name itself. Whoever can read Redis (no token, no secret) confirms a guessed
 * e-mail address or client id with one hash and one EXISTS: the index is a lookup table of who is
 * currently logged in.
 */
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of closers.reverse()) await c();
});

itWithRedis('with cache.indexSecret, a Redis reader cannot confirm a guessed subject (e-mail) or client id from the index keys', async () => {
  const redis = await TestRedis.start();
  closers.push(() => redis.kill());
  const as = await FaultyServer.start(
    behave.json({
      active: true,
      token_type: 'Bearer',
      sub: 'alice@example.com',
      email: 'alice@example.com',
      client_id: 'payroll-mobile',
      exp: Math.floor(Date.now() / 1000) + 600,
    }),
  );
  closers.push(() => as.stop());
  const e = await createEngine({
    introspectionEndpoint: as.url,
    allowInsecureRequests: true,
    ...CLIENTS.basic,
    cache: { redis: redis.url, keyPrefix: 'orders-api', indexSecret: 'index-secret-0123456789' },
  });
  closers.push(e.close);
  await sleep(300);
  expect((await e.service.introspect('opaque-token-of-alice')).active).toBe(true);
  await sleep(200);
  // The attacker: a list of candidate e-mail addresses, the namespace read off any key name.
  const namespace = redis.cli('KEYS', '*:idx:*').split('\n').filter(Boolean)[0].split(':idx:')[0];
  const h = (v: string) => createHash('sha256').update(`${namespace}\u0000${v}`).digest('base64url');
  const confirmed = ['bob@example.com', 'alice@example.com', 'carol@example.com'].filter(
    (guess) => redis.cli('EXISTS', `${namespace}:idx:sub:${h(guess)}`).trim() === '1',
  );
  const clientConfirmed = redis.cli('EXISTS', `${namespace}:idx:client_id:${h('payroll-mobile')}`).trim() === '1';
  expect({ confirmed, clientConfirmed }).toEqual({ confirmed: [], clientConfirmed: false }); // without indexSecret: ['alice@example.com'], true (documented)
});
