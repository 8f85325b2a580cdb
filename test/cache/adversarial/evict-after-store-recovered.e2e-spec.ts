// Issue 26 (third adversarial review): `evict()` goes through the
// shared store's read breaker (StoreGuard.strict). When a replica's shared READS timed out a few times (a failover, a
// frozen node, a pause), its breaker stays open for 2 s after the last failure, and `evict()` on that replica is refused
// at once ("circuit breaker is open") although Redis answers again and the other replica already uses the shared tier.
// Here a single node is paused (CLIENT PAUSE 1200 ALL) while replica A reads; right after the pause, A's evict() is
// refused for ~1–2 s more.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { connect } from 'node:net';
import { IntrospectionService } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { describeWithRedis, TestRedis } from '../../support/redis-server.js';
import { get, IntrospectionCounter, sharedAgain, type Replica } from '../../support/topology-soak.js';

/** Sends one command to Redis over a fresh connection (AUTH first); resolves with the last reply. */
async function redisCommand(redis: TestRedis, command: string): Promise<string> {
  const password = new URL(redis.url).password;
  return new Promise((resolve, reject) => {
    const socket = connect(redis.port, '127.0.0.1', () => socket.write(`AUTH ${password}\r\n${command}\r\n`));
    let got = '';
    socket.on('data', (d) => {
      got += d.toString();
      if (got.split('\r\n').filter(Boolean).length < 2) return;
      socket.destroy();
      resolve(got.trim());
    });
    socket.on('error', reject);
  });
}

describeWithRedis('evict() right after the shared store answers again', () => {
  let redis: TestRedis;
  let as: TestAuthorizationServer;
  let counter: IntrospectionCounter;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    [redis, as] = await Promise.all([TestRedis.start(), TestAuthorizationServer.start()]);
    counter = await IntrospectionCounter.start(as.introspectionEndpoint);
    const options = {
      introspectionEndpoint: counter.url,
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { keyPrefix: 'brk3', storeTimeoutMs: 100, redis: { url: redis.url } },
    };
    a = await startApp('express', options);
    b = await startApp('fastify', options);
    await sleep(500);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.app.close(), b?.app.close()]);
    await counter?.stop();
    await as?.stop();
    await redis?.kill();
  }, 30_000);

  it('evict() resolves once Redis answers again (it is not refused by the read breaker of an earlier stall)', async () => {
    expect(await sharedAgain(as, counter, a, b)).toBe(true);
    const token = await as.issueToken({ scope: 'read' });
    expect((await get(a, token)).status).toBe(200);
    await redisCommand(redis, 'CLIENT PAUSE 1200 ALL');
    const t0 = performance.now();
    // Replica A keeps serving new tokens meanwhile: its shared reads time out (100 ms) and open its store breaker.
    while (performance.now() - t0 < 1300) await get(a, await as.issueToken({ scope: 'read' }));
    expect(await redisCommand(redis, 'PING')).toContain('PONG');
    const answeredAt = performance.now();
    let refusals = 0;
    let lastError = '';
    for (;;) {
      try {
        await a.app.get(IntrospectionService).evict(token);
        break;
      } catch (error) {
        refusals++;
        lastError = (error as Error).message;
        await sleep(100);
      }
    }
    const tookMs = Math.round(performance.now() - answeredAt);
    console.log(`evict() after Redis answered again: refused ${refusals} times over ${tookMs} ms; last error: ${lastError}`);
    expect(refusals).toBe(0);
  }, 30_000);
});
