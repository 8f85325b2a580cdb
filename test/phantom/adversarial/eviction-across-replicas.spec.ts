// Adversarial review of phantom tokens across replicas (round 15; was attack15-phantom-redis).
import { afterEach, describe, expect } from '@jest/globals';
import { decodeJwt } from 'jose';
import { IntrospectionModule, IntrospectionService, PhantomTokenService } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';
import { sleep } from '../../support/engine.js';
import { FaultyServer } from '../../support/faulty-server.js';
import { itWithRedis, TestRedis } from '../../support/redis-server.js';

/** Review 15: phantom tokens on two edge replicas sharing Redis; an eviction on one must stop minting on the other. */
describe('phantom tokens across replicas (real redis-server)', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  itWithRedis(
    'evict on replica B: replica A stops minting at once (memory hit, cached phantom, stale)',
    async () => {
      const redis = await TestRedis.start();
      closers.push(() => redis.kill());
      let revoked = false;
      const as = await FaultyServer.start((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            revoked ? { active: false } : { active: true, client_id: 'app', sub: 'alice', scope: 'read', exp: Math.floor(Date.now() / 1000) + 600 },
          ),
        );
      });
      closers.push(() => as.stop());
      const edge = async () => {
        const { app } = await startApp(
          'express',
          IntrospectionModule.forRoot({
            introspectionEndpoint: as.url,
            clientId: 'edge',
            clientSecret: 's',
            allowInsecureRequests: true,
            cache: { redis: redis.url, keyPrefix: 'attack15', localTtlSeconds: 30 },
            phantom: { issuer: 'https://edge.example', audiences: ['https://orders.internal'], lifetimeSeconds: 600 },
          }),
          [],
        );
        closers.push(() => app.close());
        return app;
      };
      const a = await edge();
      const b = await edge();
      await sleep(300);
      const phantomA = a.get(PhantomTokenService);
      const first = await phantomA.mint('alice-token');
      expect(await phantomA.mint('alice-token')).toBe(first); // cached
      expect(decodeJwt(first).sub).toBe('alice');
      revoked = true;
      await b.get(IntrospectionService).evict('alice-token');
      await sleep(200);
      await expect(phantomA.mint('alice-token')).rejects.toMatchObject({ name: 'InvalidTokenError' });
      await expect(b.get(PhantomTokenService).mint('alice-token')).rejects.toMatchObject({ name: 'InvalidTokenError' });
    },
    30_000,
  );
});
