// Adversarial review of Redis connections at shutdown (round 16b; was attack16b-shutdown-reconnect).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CLIENTS, EmbeddedAuthorizationServer } from '../../../sample/embedded-authorization-server.js';
import { createEngine, sleep } from '../../support/engine.js';
import { describeWithRedis, TestRedis } from '../../support/redis-server.js';

/**
 * ATTACK (found behind "Jest did not exit one second after the test run" of test/cache/revalidation.e2e-spec.ts):
 * shared-store writes are fire-and-forget (`void this.writeShared(...)` in IntrospectionCache.storeActive, and
 * background lookups that "finish on their own" after stop()). One still running when the application shuts
 * down calls `shared.set()` after `RedisCoordinator.close()`: @keyv/redis `getClient()` reconnects a closed client
 * on demand, so the closed connection is REOPENED after shutdown and never closed again — with the library's
 * reconnectStrategy (100·2^n ms, max 2 s, forever) it keeps the process alive when Redis is gone.
 * Seen with async_hooks in that suite: Timeouts of 800 ms / 2000 ms from RedisSocket.#connect ←
 * KeyvRedis.getClient ← KeyvRedis.set ← Keyv.set ← cache-manager set, after every app was closed.
 */
describeWithRedis('no Redis connection survives the application’s shutdown, even with a shared write in flight', () => {
  let as: EmbeddedAuthorizationServer;
  let redis: TestRedis;
  beforeAll(async () => {
    as = await EmbeddedAuthorizationServer.start();
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await redis.kill();
    await as.stop();
  });

  const clients = () =>
    redis
      .cli('CLIENT', 'LIST')
      .split('\n')
      .filter((l) => l.includes('addr=') && !l.includes('cmd=client')).length;

  it('an app closed when nothing is in flight leaves no Redis connection', async () => {
    const { close } = await createEngine({
      introspectionEndpoint: `${as.issuer}/token/introspection`,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: redis.url, keyPrefix: 'shutdown-idle' },
      metrics: false,
    });
    await sleep(300);
    await close();
    await sleep(300);
    expect(clients()).toBe(0);
  });

  it('an app closed right after a miss (its shared write still running) leaves no Redis connection', async () => {
    const { service, close } = await createEngine({
      introspectionEndpoint: `${as.issuer}/token/introspection`,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { redis: redis.url, keyPrefix: 'shutdown' },
      metrics: false,
    });
    await sleep(300); // connected
    const token = await as.issueToken({ scope: 'read' });
    expect((await service.introspect(token)).active).toBe(true); // storeActive → void writeShared(...)
    await close(); // onApplicationShutdown: revalidator stopped, client closed, Redis connections closed
    await sleep(500);
    expect(clients()).toBe(0);
  });
});
