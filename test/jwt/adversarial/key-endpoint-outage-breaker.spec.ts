// Adversarial review of a key-endpoint outage and the shared breaker (round 13; was attack13-keys-breaker).
import { describe, expect, it } from '@jest/globals';
import { IntrospectionService } from '../../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { ChaosProxy } from '../../support/chaos-proxy.js';
import { sleep } from '../../support/engine.js';

const AUDIENCE = 'urn:jwt:orders';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * ATTACK (issue 13): the key endpoint is down (a CDN in front of jwks_uri, a mis-deployed path) but the
 * introspection endpoint is healthy. JWTs are still served from the stale key set (as designed), yet the
 * background key refreshes those very requests trigger (one a second) count as failures on the *shared*
 * circuit breaker: it opens, and every opaque token — which the healthy AS would answer — gets 503.
 */
describe.each(ADAPTERS)('a key-endpoint outage within the stale window and opaque tokens, over %s', (adapter) => {
  it('opaque tokens keep being introspected (200) while JWTs are served with stale keys', async () => {
    const as = await TestAuthorizationServer.start();
    const keysProxy = await ChaosProxy.start(as.issuer);
    const app = await startApp(
      adapter,
      {
        issuer: as.issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        audience: [AUDIENCE, 'https://orders'],
        // Defaults otherwise: breaker 5 consecutive failures, keysStaleIfErrorSeconds 3600.
        jwt: { mode: 'local', jwksUri: keysProxy.url('/jwks'), keysCacheSeconds: 1, verificationCacheSeconds: 0 },
      },
      [OrdersController],
    );
    try {
      const jwt = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      expect((await call(`${app.url}/orders`, bearer(jwt))).status).toBe(200);
      await keysProxy.setMode('error500');
      const jwtStatuses: number[] = [];
      const until = Date.now() + 9000;
      while (Date.now() < until) {
        jwtStatuses.push((await call(`${app.url}/orders`, bearer(jwt))).status);
        await sleep(250);
      }
      const opaque = await as.issueToken({ scope: 'read', resource: 'https://orders' });
      const res = await call(`${app.url}/orders`, bearer(opaque));
      const breaker = app.app.get(IntrospectionService).circuitState;
      console.log('JWT statuses during the key outage', [...new Set(jwtStatuses)], 'breaker', breaker, 'opaque', res.status, res.body);
      // Observed: the breaker is open and the opaque token gets 503 circuit_open, though introspection works.
      expect(res.status).toBe(200);
      expect(breaker).toBe('closed');
    } finally {
      await app.app.close();
      await keysProxy.stop();
      await as.stop();
    }
  }, 30_000);
});
