// Adversarial review of evict() against re-spelled JWS signatures (round 13; was attack13-evict-variant).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService } from '../../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { startLocalJwtWithRedis } from '../../support/jwt-redis.js';
import { describeWithRedis } from '../../support/redis-server.js';

const AUDIENCE = 'urn:jwt:orders';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Other spellings of the same JWS: the signature segment's last base64url character carries spare bits
 * (RS256: 256 bytes → 4 spare bits), and '=' padding is b64token-legal. jose decodes them all to the same
 * signature bytes, so each one verifies — but each hashes to another cache key / revocation mark.
 */
function variants(token: string): string[] {
  const last = B64URL.indexOf(token.at(-1)!);
  return [`${token.slice(0, -1)}${B64URL[last ^ 1]}`, `${token.slice(0, -1)}${B64URL[last ^ 2]}`, `${token}==`];
}

/** ATTACK (issue 13): evict(token) of a locally validated JWT is keyed by the token's exact spelling. */
describe.each(ADAPTERS)('evict(jwt) and re-spellings of the signature segment, over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: { app: INestApplication; url: string };
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await startApp(
      adapter,
      { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, audience: AUDIENCE, jwt: { mode: 'local', algorithms: ['RS256'] } },
      [OrdersController],
    );
  });
  afterAll(async () => {
    await app?.app.close();
    await as?.stop();
  });

  it('an evicted JWT, re-spelled (same signature bytes), must stay refused (401 revoked)', async () => {
    const victim = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    expect((await call(`${app.url}/orders`, bearer(victim))).status).toBe(200);
    await app.app.get(IntrospectionService).evict(victim);
    expect((await call(`${app.url}/orders`, bearer(victim))).status).toBe(401);
    const statuses: Record<string, number> = {};
    for (const v of variants(victim)) statuses[v.slice(-4)] = (await call(`${app.url}/orders`, bearer(v))).status;
    // Observed: 200 for each variant — the revoked JWT is accepted again.
    expect(Object.values(statuses)).toEqual([401, 401, 401]);
  });
});

describeWithRedis('evict(jwt) and re-spellings on another replica and on one started later (real Redis)', () => {
  it('a re-spelled evicted JWT must be refused on every replica', async () => {
    const { as, redis, options } = await startLocalJwtWithRedis(AUDIENCE);
    const a = await startApp('express', options, [OrdersController]);
    let c: { app: INestApplication; url: string } | undefined;
    try {
      const victim = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      await a.app.get(IntrospectionService).evict(victim);
      await sleep(100);
      c = await startApp('fastify', options, [OrdersController]);
      expect((await call(`${c.url}/orders`, bearer(victim))).status).toBe(401);
      const variant = variants(victim)[0];
      expect((await call(`${c.url}/orders`, bearer(variant))).status).toBe(401);
    } finally {
      await c?.app.close();
      await a.app.close();
      await redis.kill();
      await as.stop();
    }
  });
});
