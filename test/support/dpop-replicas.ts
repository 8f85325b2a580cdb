import type { IntrospectionModuleOptions } from '../../lib/index.js';
import { startApp } from './app.js';
import { TestAuthorizationServer, introspectionAt } from './authorization-server.js';
import { TestRedis } from './redis-server.js';

/**
 * Two replicas of one API (A over Express, B over Fastify) sharing a real Redis for the DPoP replay check, behind
 * the same external origin (https://api.example.com), with a real authorization server. The store timeout is
 * 200 ms and the circuit breaker off. `stop()` closes A, then B, kills Redis and stops the authorization server.
 */
/** `storeTimeoutMs`: the Redis bound per operation (a DPoP replay check degrades to this replica alone beyond it). */
export async function startDpopReplicas({ storeTimeoutMs = 200 }: { storeTimeoutMs?: number } = {}) {
  const as = await TestAuthorizationServer.start();
  const redis = await TestRedis.start();
  const options: IntrospectionModuleOptions = {
    ...introspectionAt(as),
    cache: { redis: redis.url, storeTimeoutMs },
    resilience: { circuitBreaker: false },
    dpop: { externalOrigin: 'https://api.example.com' },
  };
  const a = await startApp('express', options);
  const b = await startApp('fastify', options);
  const stop = async () => {
    await a.app.close();
    await b.app.close();
    await redis.kill();
    await as.stop();
  };
  return { as, redis, a, b, stop };
}
