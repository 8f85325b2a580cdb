// Adversarial review of purge() after JWT evictions (round 13; was attack13-purge).
import { expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService } from '../../../lib/index.js';
import { call, OrdersController, startApp } from '../../support/app.js';
import { sleep } from '../../support/engine.js';
import { startLocalJwtWithRedis } from '../../support/jwt-redis.js';
import { describeWithRedis } from '../../support/redis-server.js';

const AUDIENCE = 'urn:jwt:orders';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** HELD UP (issue 13): purge() after evict()/evictBySubject() of JWTs does not resurrect them (cache.redis), on a replica started later either. */
describeWithRedis('purge() after JWT evictions (real Redis)', () => {
  it('evicted JWTs stay refused after purge(), on a replica started after both', async () => {
    const { as, redis, options } = await startLocalJwtWithRedis(AUDIENCE, { clockSkewSeconds: 0 });
    const a = await startApp('express', options, [OrdersController]);
    let c: { app: INestApplication; url: string } | undefined;
    try {
      const byToken = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      const byClient = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      const service = a.app.get(IntrospectionService);
      await service.evict(byToken);
      await service.evictByClientId('app');
      await service.purge();
      await sleep(100);
      c = await startApp('fastify', options, [OrdersController]);
      expect((await call(`${c.url}/orders`, bearer(byToken))).status).toBe(401);
      expect((await call(`${c.url}/orders`, bearer(byClient))).status).toBe(401);
      await sleep(1100); // iat is in seconds: a token issued after the eviction
      expect((await call(`${c.url}/orders`, bearer(await as.issueToken({ scope: 'read', resource: AUDIENCE })))).status).toBe(200);
    } finally {
      await c?.app.close();
      await a.app.close();
      await redis.kill();
      await as.stop();
    }
  });
});
