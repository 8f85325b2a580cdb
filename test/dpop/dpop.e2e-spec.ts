import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { Controller, Get, Post } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { Introspected, RequireDpop, Scopes, type ActiveIntrospectionResult, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, OrdersController, PublicController, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { startDpopReplicas } from '../support/dpop-replicas.js';
import { sleep } from '../support/engine.js';
import { describeWithRedis } from '../support/redis-server.js';

@Controller('dpop-only')
@RequireDpop()
class DpopOnlyController {
  @Get()
  get(@Introspected() token: ActiveIntrospectionResult) {
    return { jkt: (token.cnf as { jkt?: string } | undefined)?.jkt ?? null };
  }

  @Post()
  @Scopes('admin')
  admin() {
    return { ok: true };
  }
}

interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}
const keyPair = async (alg = 'ES256'): Promise<KeyPair> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
};
const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A real DPoP proof (RFC 9449 §4.2), made with jose; every field can be spoiled for an attack. */
async function makeProof(
  key: KeyPair,
  o: { htm?: string; htu: string; token?: string; jti?: string; iat?: number; nonce?: string; omitAth?: boolean; ath?: string; typ?: string; jwk?: JWK },
): Promise<string> {
  const claims: Record<string, unknown> = { htm: o.htm ?? 'GET', htu: o.htu, jti: o.jti ?? randomUUID() };
  if (!o.omitAth) claims.ath = o.ath ?? (o.token ? ath(o.token) : undefined);
  if (o.nonce) claims.nonce = o.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: o.typ ?? 'dpop+jwt', alg: 'ES256', jwk: o.jwk ?? key.publicJwk })
    .setIssuedAt(o.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);
}

/** An unsigned (alg none) or HMAC-signed "proof", hand-made: jose refuses to make such DPoP proofs. */
function forgedProof(alg: 'none' | 'HS256', htu: string, token: string, jwk: JWK): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = b64({ typ: 'dpop+jwt', alg, jwk });
  const payload = b64({ htm: 'GET', htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ath: ath(token) });
  const signature = alg === 'none' ? '' : createHash('sha256').update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature || 'AA'}`;
}

async function send(url: string, init: { method?: string; authorization?: string; dpop?: string | string[]; headers?: Record<string, string> } = {}) {
  const headers = new Headers(init.headers);
  if (init.authorization) headers.set('authorization', init.authorization);
  for (const proof of [init.dpop ?? []].flat()) headers.append('dpop', proof);
  const res = await fetch(url, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, challenge: res.headers.get('www-authenticate') ?? '' };
}

const ALGS = 'algs="ES256 ES384 PS256 RS256 EdDSA Ed25519"';

describe.each(ADAPTERS)('DPoP-bound tokens from a real oidc-provider, proofs made with jose (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let api: { app: INestApplication; url: string };
  let key: KeyPair;
  let other: KeyPair;
  const options = (extra: Partial<IntrospectionModuleOptions> = {}): IntrospectionModuleOptions => ({
    ...introspectionAt(as),
    resilience: { circuitBreaker: false },
    ...extra,
  });
  const dpopToken = (scope = 'read') => as.issueToken({ scope, dpop: key });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    key = await keyPair();
    other = await keyPair();
    api = await startApp(adapter, options(), [PublicController, OrdersController, DpopOnlyController]);
  });
  afterAll(async () => {
    await api?.app.close();
    await as?.stop();
  });

  it('accepts a DPoP-bound token with a valid proof; a cache hit keeps cnf and proves possession again on every request', async () => {
    const token = await dpopToken();
    const htu = `${api.url}/orders`;
    as.resetCounters();
    const first = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) });
    expect(first.status).toBe(200);
    expect(as.introspectionRequests).toBe(1);
    // From the cache: no AS call, but a fresh proof is still required...
    expect((await send(`${htu}?page=2`, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) })).status).toBe(200);
    expect(as.introspectionRequests).toBe(1);
    // ...and a cache hit with a proof by another key is refused.
    const stolen = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(other, { htu, token }) });
    expect(stolen.status).toBe(401);
    expect(stolen.challenge).toContain(`DPoP ${ALGS}, error="invalid_dpop_proof"`);
    expect(as.introspectionRequests).toBe(1);
  });

  it('refuses a replayed proof (same jti): 401 invalid_dpop_proof, DPoP and Bearer challenges', async () => {
    const token = await dpopToken();
    const htu = `${api.url}/orders`;
    const proof = await makeProof(key, { htu, token });
    expect((await send(htu, { authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
    const replay = await send(htu, { authorization: `DPoP ${token}`, dpop: proof });
    expect(replay.status).toBe(401);
    expect(replay.challenge).toMatch(/^DPoP algs="[^"]+", error="invalid_dpop_proof", error_description="[^"]*replay[^"]*", Bearer$/);
    // A new proof with the same jti is a replay too.
    const sameJti = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token, jti: 'fixed-jti' }) });
    expect(sameJti.status).toBe(200);
    expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token, jti: 'fixed-jti' }) })).status).toBe(401);
  });

  it('the same proof sent 10 times at once is accepted exactly once (the record is atomic)', async () => {
    const token = await dpopToken();
    const htu = `${api.url}/orders`;
    const proof = await makeProof(key, { htu, token });
    const statuses = await Promise.all(Array.from({ length: 10 }, () => send(htu, { authorization: `DPoP ${token}`, dpop: proof }).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(9);
  });

  it.each([
    ['for another method', (htu: string, token: string) => makeProof(key, { htu, token, htm: 'POST' })],
    ['for another URL', (htu: string, token: string) => makeProof(key, { htu: htu.replace('/orders', '/other'), token })],
    ['for another host', (htu: string, token: string) => makeProof(key, { htu: htu.replace('127.0.0.1', 'evil.example'), token })],
    ['with a stale iat', (htu: string, token: string) => makeProof(key, { htu, token, iat: Math.floor(Date.now() / 1000) - 120 })],
    ['with an iat in the future', (htu: string, token: string) => makeProof(key, { htu, token, iat: Math.floor(Date.now() / 1000) + 120 })],
    ['without ath', (htu: string, token: string) => makeProof(key, { htu, token, omitAth: true })],
    ['with the ath of another token', (htu: string, token: string) => makeProof(key, { htu, token, ath: ath(`${token}x`) })],
    ['signed by another key', (htu: string, token: string) => makeProof(other, { htu, token })],
    ['typ JWT', (htu: string, token: string) => makeProof(key, { htu, token, typ: 'JWT' })],
    ['alg none', async (htu: string, token: string) => forgedProof('none', htu, token, key.publicJwk)],
    ['alg HS256', async (htu: string, token: string) => forgedProof('HS256', htu, token, key.publicJwk)],
    ['carrying the private key', async (htu: string, token: string) => makeProof(key, { htu, token, jwk: await exportJWK(key.privateKey) })],
    ['junk', async () => 'not-a-jwt'],
    ['two DPoP headers', async (htu: string, token: string) => [await makeProof(key, { htu, token }), await makeProof(key, { htu, token })]],
  ])('refuses a proof %s: 401 invalid_dpop_proof, the AS is not asked', async (_name, make) => {
    const token = await dpopToken();
    const htu = `${api.url}/orders`;
    as.resetCounters();
    const res = await send(htu, { authorization: `DPoP ${token}`, dpop: await make(htu, token) });
    expect(res.status).toBe(401);
    expect(res.challenge).toContain(`DPoP ${ALGS}, error="invalid_dpop_proof"`);
    expect(res.challenge).toMatch(/, Bearer$/);
    if (_name !== 'signed by another key') expect(as.introspectionRequests).toBe(0);
    // The legitimate client is unaffected.
    expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) })).status).toBe(200);
  });

  it('refuses the DPoP scheme without a proof header, and never answers 500 to junk', async () => {
    const token = await dpopToken();
    as.resetCounters();
    const res = await send(`${api.url}/orders`, { authorization: `DPoP ${token}` });
    expect(res.status).toBe(401);
    expect(res.challenge).toContain('error="invalid_dpop_proof"');
    for (const dpop of ['a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30.AA', `${'x'.repeat(9000)}`, 'e30.e30.e30']) {
      expect((await send(`${api.url}/orders`, { authorization: `DPoP ${token}`, dpop })).status).toBe(401);
    }
    expect((await send(`${api.url}/orders`, { authorization: 'DPoP a b', dpop: 'x' })).status).toBe(400);
    expect(as.introspectionRequests).toBe(0);
  });

  it('refuses a DPoP-bound token sent as Bearer (401 Bearer invalid_token + a DPoP challenge), without poisoning the cache', async () => {
    const token = await dpopToken();
    const htu = `${api.url}/orders`;
    const asBearer = await send(htu, { authorization: `Bearer ${token}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]*bound to a key[^"]*", DPoP algs="/);
    expect((await send(htu, { authorization: `Bearer ${token}` })).status).toBe(401); // cached: still refused
    // The legitimate client, right after: accepted (the cache holds the active answer with its cnf).
    expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) })).status).toBe(200);
  });

  it('refuses an ordinary bearer token sent under the DPoP scheme (not DPoP-bound): 401 invalid_token', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const htu = `${api.url}/orders`;
    const res = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) });
    expect(res.status).toBe(401);
    expect(res.challenge).toContain(`DPoP ${ALGS}, error="invalid_token"`);
    expect((await send(htu, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('@RequireDpop(): bearer tokens are refused with a DPoP challenge (no AS call); a proof passes; scopes answer 403 under DPoP', async () => {
    const bearer = await as.issueToken({ scope: 'read' });
    const htu = `${api.url}/dpop-only`;
    as.resetCounters();
    const refused = await send(htu, { authorization: `Bearer ${bearer}` });
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatch(/^DPoP algs="[^"]+", error="invalid_token"/);
    expect(refused.challenge).not.toContain('Bearer');
    const missing = await send(htu);
    expect(missing.status).toBe(401);
    expect(missing.challenge).toBe(`DPoP ${ALGS}`);
    expect(as.introspectionRequests).toBe(0);
    const token = await dpopToken();
    const ok = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).jkt).toBeTruthy();
    const forbidden = await send(htu, { method: 'POST', authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token, htm: 'POST' }) });
    expect(forbidden.status).toBe(403);
    expect(forbidden.challenge).toMatch(/^DPoP algs="[^"]+", error="insufficient_scope"/);
  });

  it('dpop.required: every route refuses bearer tokens; dpop: false: the DPoP scheme is another scheme', async () => {
    const required = await startApp(adapter, options({ dpop: { required: true } }));
    const off = await startApp(adapter, options({ dpop: false }));
    try {
      const bearer = await as.issueToken({ scope: 'read' });
      const res = await send(`${required.url}/orders`, { authorization: `Bearer ${bearer}` });
      expect(res.status).toBe(401);
      expect(res.challenge).toContain('DPoP algs=');
      const token = await dpopToken();
      const htu = `${off.url}/orders`;
      const refused = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) });
      expect(refused.status).toBe(401);
      expect(refused.challenge).toBe('Bearer');
    } finally {
      await required.app.close();
      await off.app.close();
    }
  });

  it('server nonces (dpop.nonce): a proof without the nonce gets 401 use_dpop_nonce and a DPoP-Nonce; with it, 200', async () => {
    const withNonce = await startApp(adapter, options({ dpop: { nonce: { secret: 'n'.repeat(32) } } }));
    try {
      const token = await dpopToken();
      const htu = `${withNonce.url}/orders`;
      const first = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) });
      expect(first.status).toBe(401);
      expect(first.challenge).toContain('error="use_dpop_nonce"');
      const nonce = first.headers.get('dpop-nonce');
      expect(nonce).toBeTruthy();
      expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token, nonce: 'forged.nonce' }) })).status).toBe(401);
      expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token, nonce: nonce! }) })).status).toBe(200);
    } finally {
      await withNonce.app.close();
    }
  });

  it('behind a proxy: htu from dpop.externalOrigin, or from X-Forwarded-* only when trusted', async () => {
    const external = await startApp(adapter, options({ dpop: { externalOrigin: 'https://api.example.com' } }));
    const forwarded = await startApp(adapter, options({ dpop: { trustForwardedHeaders: true } }));
    try {
      const token = await dpopToken();
      const publicHtu = 'https://api.example.com/orders';
      const proxyHeaders = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' };
      expect((await send(`${external.url}/orders`, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu: publicHtu, token }) })).status).toBe(
        200,
      );
      expect(
        (
          await send(`${forwarded.url}/orders`, {
            authorization: `DPoP ${token}`,
            headers: proxyHeaders,
            dpop: await makeProof(key, { htu: publicHtu, token }),
          })
        ).status,
      ).toBe(200);
      // Forwarded headers are ignored unless trusted: the proof's htu does not match the request's own URI.
      const forged = await send(`${api.url}/orders`, {
        authorization: `DPoP ${token}`,
        headers: proxyHeaders,
        dpop: await makeProof(key, { htu: publicHtu, token }),
      });
      expect(forged.status).toBe(401);
      expect(forged.challenge).toContain('error="invalid_dpop_proof"');
    } finally {
      await external.app.close();
      await forwarded.app.close();
    }
  });
});

describeWithRedis('DPoP replay check across replicas sharing a real Redis', () => {
  it('a proof accepted by one replica is refused by the other (same external origin); fresh proofs pass; Redis down: local check only', async () => {
    const { as, redis, a, b, stop } = await startDpopReplicas();
    try {
      await sleep(200); // Redis connects in the background
      const key = await keyPair();
      const token = await as.issueToken({ scope: 'read', dpop: key });
      const htu = 'https://api.example.com/orders';
      // Valid proofs made by an attacker's own key for junk tokens: refused, and never recorded (no replay-cache pollution).
      const attacker = await keyPair();
      for (let i = 0; i < 10; i++) {
        const junk = `junk-${i}-${randomUUID()}`;
        expect((await send(`${a.url}/orders`, { authorization: `DPoP ${junk}`, dpop: await makeProof(attacker, { htu, token: junk }) })).status).toBe(401);
      }
      expect(redis.cli('KEYS', '*:dpop:*').trim()).toBe('');
      const proof = await makeProof(key, { htu, token });
      expect((await send(`${a.url}/orders`, { authorization: `DPoP ${token}`, dpop: proof })).status).toBe(200);
      expect(redis.cli('KEYS', '*:dpop:*').trim().split('\n')).toHaveLength(1);
      const replay = await send(`${b.url}/orders`, { authorization: `DPoP ${token}`, dpop: proof });
      expect(replay.status).toBe(401);
      expect(replay.challenge).toContain('error="invalid_dpop_proof"');
      const other = await makeProof(key, { htu, token });
      expect((await send(`${b.url}/orders`, { authorization: `DPoP ${token}`, dpop: other })).status).toBe(200);
      expect((await send(`${a.url}/orders`, { authorization: `DPoP ${token}`, dpop: other })).status).toBe(401);
      // Redis gone: each replica falls back to its own memory — fresh proofs pass, a replay to the same replica is still refused.
      await redis.kill();
      const afterOutage = await makeProof(key, { htu, token });
      expect((await send(`${a.url}/orders`, { authorization: `DPoP ${token}`, dpop: afterOutage })).status).toBe(200);
      expect((await send(`${a.url}/orders`, { authorization: `DPoP ${token}`, dpop: afterOutage })).status).toBe(401);
    } finally {
      await stop();
    }
  });
});

describe.each(ADAPTERS)('DPoP-bound JWT access tokens validated locally (cnf.jkt from the JWT, %s)', (adapter) => {
  const AUDIENCE = 'urn:jwt:orders';
  let as: TestAuthorizationServer;
  let api: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    api = await startApp(adapter, {
      issuer: as.issuer,
      ...CLIENTS.basic,
      allowInsecureRequests: true,
      audience: AUDIENCE,
      jwt: { mode: 'local' },
      resilience: { circuitBreaker: false },
    });
  });
  afterAll(async () => {
    await api?.app.close();
    await as?.stop();
  });

  it('accepts the JWT with a proof by its key (no introspection); refuses it as Bearer and with another key', async () => {
    const key = await keyPair();
    const token = await as.issueToken({ scope: 'read', resource: AUDIENCE, dpop: key });
    expect(token.split('.')).toHaveLength(3);
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { cnf?: { jkt?: string } };
    expect(payload.cnf?.jkt).toBeTruthy();
    const htu = `${api.url}/orders`;
    as.resetCounters();
    expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) })).status).toBe(200);
    expect((await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(key, { htu, token }) })).status).toBe(200); // verification cache
    const asBearer = await send(htu, { authorization: `Bearer ${token}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.challenge).toContain('Bearer error="invalid_token"');
    const otherKey = await send(htu, { authorization: `DPoP ${token}`, dpop: await makeProof(await keyPair(), { htu, token }) });
    expect(otherKey.status).toBe(401);
    expect(otherKey.challenge).toContain('error="invalid_dpop_proof"');
    expect(as.introspectionRequests).toBe(0);
  });
});
