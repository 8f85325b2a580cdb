// Adversarial review of the key endpoint's answers (round 13; was attack13-jwks-junk).
import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { ADAPTERS, call, OrdersController, startApp } from '../../support/app.js';
import { FaultyServer } from '../../support/faulty-server.js';
import { fakeIssuerOptions, signAliceJwt } from '../../support/fake-jwt-issuer.js';

const AUDIENCE = 'urn:jwt:orders';
const ISSUER = 'https://as.example';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * The key endpoint misbehaving in every way we could think of (a real HTTP server per case). The token is
 * valid and signed by the key the AS publishes; the answer must be 200 when the key can be had and
 * 503 + Retry-After when it cannot — never 401, never 500.
 */
describe.each(ADAPTERS)('junk from the key endpoint, over %s', (adapter) => {
  it('each answer of the key endpoint maps to 200 or 503, as expected', async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pub: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    const priv: JWK = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    type Answer = { status?: number; type?: string; body: string; hangMs?: number };
    const cases: Array<[string, Answer, number]> = [
      ['public key (control)', { body: JSON.stringify({ keys: [pub] }) }, 200],
      ['private key published (used without the private part)', { body: JSON.stringify({ keys: [priv] }) }, 200],
      ['symmetric key with the same kid beside it', { body: JSON.stringify({ keys: [{ kty: 'oct', kid: 'k1', k: 'c2VjcmV0' }, pub] }) }, 200],
      ['HTML maintenance page', { type: 'text/html', body: '<html>maintenance</html>' }, 503],
      ['keys not an array', { body: '{"keys":"k1"}' }, 503],
      ['JSON null', { body: 'null' }, 503],
      ['2 MB of keys', { body: JSON.stringify({ keys: Array.from({ length: 5000 }, (_, i) => ({ ...pub, kid: `pad${i}` })) }) }, 503],
      ['hangs past the timeout', { body: JSON.stringify({ keys: [pub] }), hangMs: 4000 }, 503],
      ['404', { status: 404, body: 'not found' }, 503],
      // The AS itself says the key is not for signatures: a token signed with it is not valid (401, like a foreign key).
      ['only key marked use:enc', { body: JSON.stringify({ keys: [{ ...pub, use: 'enc' }] }) }, 401],
    ];
    let current: Answer = cases[0][1];
    const server = await FaultyServer.start(async (req, res) => {
      if (!req.url?.startsWith('/jwks')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"active":false}');
      if (current.hangMs) await new Promise((r) => setTimeout(r, current.hangMs));
      if (!res.destroyed) res.writeHead(current.status ?? 200, { 'content-type': current.type ?? 'application/json' }).end(current.body);
    });
    const token = await signAliceJwt(privateKey, ISSUER, AUDIENCE);
    const observed: Record<string, number> = {};
    try {
      for (const [name, answer] of cases) {
        current = answer;
        // A fresh app per case: no key set, no verification cache, no breaker history.
        const app = await startApp(
          adapter,
          {
            ...fakeIssuerOptions(server.url, ISSUER, AUDIENCE),
            jwt: { mode: 'local', jwksUri: server.url.replace('/introspect', '/jwks'), algorithms: ['RS256'] },
            resilience: { retries: 0, attemptTimeoutMs: 1000 },
          },
          [OrdersController],
        );
        try {
          const res = await call(`${app.url}/orders`, bearer(token));
          observed[name] = res.status;
        } finally {
          await app.app.close();
        }
      }
    } finally {
      await server.stop();
    }
    console.log(observed);
    expect(observed).toEqual(Object.fromEntries(cases.map(([name, , status]) => [name, status])));
  }, 60_000);
});
