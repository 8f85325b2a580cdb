// Adversarial review of local JWT validation with an unusable published key (round 13; was attack13-broken-keys).
import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { ADAPTERS, call, OrdersController, startApp } from '../../support/app.js';
import { sleep } from '../../support/engine.js';
import { FaultyServer } from '../../support/faulty-server.js';
import { fakeIssuerOptions, signAliceJwt } from '../../support/fake-jwt-issuer.js';

const AUDIENCE = 'urn:jwt:orders';
const ISSUER = 'https://as.example';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * ATTACK (issue 13): the key endpoint answers 200 with a JWK Set whose signing key is unusable — a truncated
 * modulus (a half-written file behind a CDN, a broken deploy), a key without `n`. The token may be perfectly
 * valid: we cannot tell, so this is "the AS's keys cannot be had" (503 + Retry-After), not "invalid token".
 * Observed: jose's import error (TypeError / DOMException) is mapped to 401 invalid_jwt, and remembered as a
 * negative answer, so the client is told its token is bad (it logs the user out) — the field failure the
 * library exists to avoid. Also no key refresh is tried (only JWKSNoMatchingKey triggers one).
 */
describe.each(ADAPTERS)('a JWK Set with a broken signing key, over %s', (adapter) => {
  it('valid JWTs get 503 + Retry-After (never 401) while the published key is unusable; 200 once it is fixed', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const good: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    let published: JWK = { ...good, n: good.n!.slice(0, 40) };
    const server = await FaultyServer.start((req, res) => {
      if (req.url?.startsWith('/jwks')) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [published] }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: false }));
    });
    const app = await startApp(
      adapter,
      {
        ...fakeIssuerOptions(server.url, ISSUER, AUDIENCE),
        jwt: { mode: 'local', jwksUri: server.url.replace('/introspect', '/jwks'), algorithms: ['RS256'], keysCacheSeconds: 1, keysRefreshIntervalSeconds: 0 },
      },
      [OrdersController],
    );
    try {
      const token = await signAliceJwt(privateKey, ISSUER, AUDIENCE);
      const broken = await call(`${app.url}/orders`, bearer(token));
      console.log('broken key:', broken.status, broken.headers.get('www-authenticate'));
      published = good;
      const sign = () => signAliceJwt(privateKey, ISSUER, AUDIENCE);
      await sleep(1200); // past keysCacheSeconds
      await call(`${app.url}/orders`, bearer(await sign())); // a never-seen token starts the background refresh
      await sleep(300);
      const another = await call(`${app.url}/orders`, bearer(await sign()));
      const fixed = await call(`${app.url}/orders`, bearer(token));
      console.log(
        'after the fix: new token',
        another.status,
        '| the first token',
        fixed.status,
        fixed.headers.get('www-authenticate'),
        '| key fetches',
        server.requests,
      );
      // The keys are fixed (a new token passes) ...
      expect(another.status).toBe(200);
      expect(broken.status).toBe(503);
      expect(broken.headers.get('retry-after')).toMatch(/^\d+$/);
      // ... but the first token stays refused: its 401 was remembered (negativeTtlSeconds).
      expect(fixed.status).toBe(200);
    } finally {
      await app.app.close();
      await server.stop();
    }
  });
});
