// Adversarial review of evict() racing a JWT's introspection (round 13; was attack13-evict-race).
import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { IntrospectionService } from '../../../lib/index.js';
import { ADAPTERS, call, PaymentsController, startApp } from '../../support/app.js';
import { sleep } from '../../support/engine.js';
import { FaultyServer } from '../../support/faulty-server.js';
import { fakeIssuerOptions } from '../../support/fake-jwt-issuer.js';

const AUDIENCE = 'urn:jwt:orders';
const ISSUER = 'https://as.example';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Race (issue 13): a JWT on a @RequireIntrospection route, with an AS that introspects JWTs (Keycloak-like,
 * here a real HTTP server that answers active after 600 ms). The operator evicts the token while the AS call is
 * in flight; the eviction resolves before the answer arrives. The README: "A verification racing the eviction
 * is not remembered and its token is refused once the eviction resolved". `JwtAccessTokens.resolve` re-checks
 * the marks after local validation, but not after `introspectAtServer` returns.
 * Expected: 401 revoked. Observed: see the test.
 */
describe.each(ADAPTERS)('evict() racing the introspection of a JWT on a @RequireIntrospection route, over %s', (adapter) => {
  it.each(['local', 'local-then-introspect'] as const)("jwt.mode '%s': the request that was in flight is refused once evict() resolved", async (mode) => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const now = Math.floor(Date.now() / 1000);
    const server = await FaultyServer.start(async (req, res) => {
      if (req.url?.startsWith('/jwks')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      await sleep(600);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          active: true,
          iss: ISSUER,
          aud: AUDIENCE,
          scope: 'read',
          client_id: 'app',
          sub: 'alice',
          token_type: 'Bearer',
          exp: now + 300,
          iat: now,
        }),
      );
    });
    const app = await startApp(
      adapter,
      {
        ...fakeIssuerOptions(server.url, ISSUER, AUDIENCE),
        jwt: { mode, jwksUri: server.url.replace('/introspect', '/jwks'), algorithms: ['RS256'] },
      },
      [PaymentsController],
    );
    try {
      const token = await new SignJWT({ scope: 'read', client_id: 'app', sub: 'alice' })
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      const inFlight = call(`${app.url}/payments`, bearer(token));
      await sleep(250); // keys fetched, local validation done, the AS call is in flight
      await app.app.get(IntrospectionService).evict(token);
      const res = await inFlight;
      const after = await call(`${app.url}/payments`, bearer(token));
      console.log(mode, 'in-flight request:', res.status, '| next request:', after.status);
      expect(after.status).toBe(401);
      expect(res.status).toBe(401);
    } finally {
      await app.app.close();
      await server.stop();
    }
  });
});
