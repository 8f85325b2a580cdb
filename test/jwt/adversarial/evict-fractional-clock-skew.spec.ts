// Adversarial review of JWT revocation marks in Redis (round 13; was attack13-evict-exp).
import { expect, it } from '@jest/globals';
import { IntrospectionService } from '../../../lib/index.js';
import { call, OrdersController, startApp } from '../../support/app.js';
import { sleep } from '../../support/engine.js';
import { startLocalJwtWithRedis } from '../../support/jwt-redis.js';
import { describeWithRedis } from '../../support/redis-server.js';

const AUDIENCE = 'urn:jwt:orders';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * HELD UP (issue 13, careless operator): `clockSkewSeconds` accepts fractions (it is not declared an integer).
 * The JWT revocation mark's TTL is then fractional milliseconds ((exp + skew) * 1000 - now), and Redis refuses
 * `SET … PX 299512.5` ("value is not an integer") — would evict() of a perfectly ordinary AS-issued JWT rejects, the
 * mark never reaches Redis, and the other replicas keep accepting the revoked token?
 * Expected and observed: evict() resolves; replica B refuses the token (the TTL reaches Redis as an integer).
 */
describeWithRedis('evict(jwt) with a fractional clockSkewSeconds (real Redis)', () => {
  it('the mark reaches every replica', async () => {
    const { as, redis, options } = await startLocalJwtWithRedis(AUDIENCE, { clockSkewSeconds: 2.5 });
    const a = await startApp('express', options, [OrdersController]);
    const b = await startApp('fastify', options, [OrdersController]);
    try {
      const victim = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      let error: unknown;
      await a.app
        .get(IntrospectionService)
        .evict(victim)
        .catch((e: unknown) => (error = e));
      console.log('evict() with clockSkewSeconds 2.5:', error ? `rejected: ${(error as Error).message}` : 'resolved');
      await sleep(100);
      const res = await call(`${b.url}/orders`, bearer(victim));
      expect(error).toBeUndefined();
      expect(res.status).toBe(401);
    } finally {
      await a.app.close();
      await b.app.close();
      await redis.kill();
      await as.stop();
    }
  });
});
