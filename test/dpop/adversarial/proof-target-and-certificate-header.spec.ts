// Adversarial review of DPoP htu and mTLS certificate headers over HTTP (round 14; was attack14-http).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { accessTokenHash, dpopKeyPair, dpopProof, type DpopKeyPair } from '../../support/dpop.js';
import type { IntrospectionModuleOptions } from '../../../lib/index.js';
import { ADAPTERS, OrdersController, PublicController, startApp } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { makeCertificate, type TestCertificate } from '../../support/certificates.js';

/** A raw HTTP/1.1 GET where every header, Host included, is the caller's. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; challenge: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, challenge: String(res.headers['www-authenticate'] ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(ADAPTERS)('DPoP proof targets and certificate headers over raw HTTP (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let api: { app: INestApplication; url: string };
  let key: DpopKeyPair;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  const options = (extra: Partial<IntrospectionModuleOptions> = {}): IntrospectionModuleOptions => ({
    ...introspectionAt(as),
    resilience: { circuitBreaker: false },
    ...extra,
  });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    key = await dpopKeyPair();
    alice = makeCertificate('alice');
    mallory = makeCertificate('mallory');
    api = await startApp(adapter, options(), [PublicController, OrdersController]);
  });
  afterAll(async () => {
    await api?.app.close();
    await as?.stop();
  });

  it('Host spoofing: with dpop.externalOrigin (the documented setting; a start-up warning asks for it), a proof made for another resource server is refused even with Host: rs-a.example', async () => {
    const pinned = await startApp(adapter, options({ dpop: { externalOrigin: api.url.replace(/\/$/, '') } }), [PublicController, OrdersController]);
    try {
      const token = await as.issueToken({ scope: 'read', dpop: key });
      // Control: the proof for this server's own URL passes.
      expect((await rawGet(`${pinned.url}/orders`, { authorization: `DPoP ${token}`, dpop: await dpopProof(key, `${api.url}/orders`, token) })).status).toBe(
        200,
      );
      // A proof+token pair captured on (or meant for) resource server A, never used here: its jti is unknown to this server.
      const proofForA = await dpopProof(key, 'http://rs-a.example/orders', token);
      const replayed = await rawGet(`${pinned.url}/orders`, { host: 'rs-a.example', authorization: `DPoP ${token}`, dpop: proofForA });
      expect(replayed.status).toBe(401);
      expect(replayed.challenge).toContain('error="invalid_dpop_proof"');
    } finally {
      await pinned.app.close();
    }
  });

  it('proxy mode (mtls.certificateHeader): a header value holding two certificates (client-sent + proxy-appended) is refused, not read as the first one', async () => {
    const proxied = await startApp(adapter, options({ mtls: { certificateHeader: 'X-SSL-Client-Cert' } }), [PublicController, OrdersController]);
    try {
      const token = await as.issueCertificateBoundToken(alice.thumbprint);
      // Mallory sends Alice's (public) certificate in the header; a proxy that appends rather than overwrites adds Mallory's own.
      const headers = new Headers({ authorization: `Bearer ${token}` });
      headers.append('x-ssl-client-cert', encodeURIComponent(alice.cert));
      headers.append('x-ssl-client-cert', encodeURIComponent(mallory.cert));
      const res = await fetch(`${proxied.url}/orders`, { headers });
      // Control: each alone behaves.
      expect(
        (await fetch(`${proxied.url}/orders`, { headers: { authorization: `Bearer ${token}`, 'x-ssl-client-cert': encodeURIComponent(mallory.cert) } })).status,
      ).toBe(401);
      expect(res.status).toBe(401);
      // Same with raw PEM values joined by Node (", ").
      const pem = await fetch(`${proxied.url}/orders`, {
        headers: { authorization: `Bearer ${token}`, 'x-ssl-client-cert': `${alice.cert.replace(/\n/g, ' ')}, ${mallory.cert.replace(/\n/g, ' ')}` },
      });
      expect(pem.status).toBe(401);
    } finally {
      await proxied.app.close();
    }
  });

  it('junk proofs: always 401 invalid_dpop_proof with the DPoP challenge, never a 500, never an AS call', async () => {
    const token = await as.issueToken({ scope: 'read', dpop: key });
    const htu = `${api.url}/orders`;
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    const claims = { htm: 'GET', htu, jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ath: accessTokenHash(token) };
    const jwk = key.publicJwk;
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 500; i++) cur = cur.a = {};
    const junk: Array<[string, string]> = [
      ['jwk array', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: [jwk] })}.${b64(claims)}.AAAA`],
      ['jwk string', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: 'x' })}.${b64(claims)}.AAAA`],
      ['jwk oct', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'oct' } })}.${b64(claims)}.AAAA`],
      ['jwk with d', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...jwk, d: 'AAAA' } })}.${b64(claims)}.AAAA`],
      ['EC point off the curve', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...jwk, y: jwk.x } })}.${b64(claims)}.AAAA`],
      ['alg/kty mismatch', `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk })}.${b64(claims)}.AAAA`],
      ['crit', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk, crit: ['exp'] })}.${b64(claims)}.AAAA`],
      ['deep jwk', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...jwk, x5c: deep } })}.${b64(claims)}.AAAA`],
      ['header not JSON', `${b64('{{{')}.${b64(claims)}.AAAA`],
      ['payload not JSON', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64('[[[')}.AAAA`],
      ['jwk null proto', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: JSON.parse('{"__proto__":{"kty":"EC"}}') })}.${b64(claims)}.AAAA`],
      ['kty EC crv junk', `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-999', x: 'AA', y: 'AA' } })}.${b64(claims)}.AAAA`],
      [
        'RSA 512',
        `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk: { kty: 'RSA', n: Buffer.alloc(64, 0xff).toString('base64url'), e: 'AQAB' } })}.${b64(claims)}.${Buffer.alloc(64, 1).toString('base64url')}`,
      ],
      [
        'RSA e=1',
        `${b64({ typ: 'dpop+jwt', alg: 'RS256', jwk: { kty: 'RSA', n: Buffer.alloc(256, 0xff).toString('base64url'), e: 'AQ' } })}.${b64(claims)}.${Buffer.alloc(256, 1).toString('base64url')}`,
      ],
      [
        'OKP X25519',
        `${b64({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'X25519', x: Buffer.alloc(32, 9).toString('base64url') } })}.${b64(claims)}.AAAA`,
      ],
    ];
    as.resetCounters();
    for (const [name, proof] of junk) {
      const res = await rawGet(htu, { authorization: `DPoP ${token}`, dpop: proof });
      expect([name, res.status]).toEqual([name, 401]);
      expect(res.challenge).toContain('error="invalid_dpop_proof"');
    }
    expect(as.introspectionRequests).toBe(0);
  });

  it('trustForwardedHeaders: with a proxy that appends to X-Forwarded-Host, the client-sent (leftmost) value must not decide htu', async () => {
    const forwarded = await startApp(adapter, options({ dpop: { trustForwardedHeaders: true } }), [PublicController, OrdersController]);
    try {
      const token = await as.issueToken({ scope: 'read', dpop: key });
      // Client sends X-Forwarded-Host: rs-a.example; the proxy appends the real one (api.example.com).
      const res = await rawGet(`${forwarded.url}/orders`, {
        authorization: `DPoP ${token}`,
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'rs-a.example, api.example.com',
        dpop: await dpopProof(key, 'https://rs-a.example/orders', token),
      });
      expect(res.status).toBe(401);
    } finally {
      await forwarded.app.close();
    }
  });

  it('absolute-form request target (GET http://host/orders HTTP/1.1): a proof for that URI is judged on it, never a 500', async () => {
    const token = await as.issueToken({ scope: 'read', dpop: key });
    const { hostname, port } = new URL(api.url);
    const send = (target: string, proof: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: DPoP ${token}\r\nDPoP: ${proof}\r\nConnection: close\r\n\r\n`);
        });
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString()));
        socket.on('end', () => resolve(data.split('\r\n')[0]));
        socket.on('error', reject);
      });
    const own = `${api.url}/orders`;
    const statusOwn = await send(own, await dpopProof(key, own, token));
    // A different authority in the target than in Host: the proof for the target's authority must not pass.
    const foreign = await send('http://rs-a.example/orders', await dpopProof(key, 'http://rs-a.example/orders', token));
    console.log(JSON.stringify({ statusOwn, foreign }));
    expect(statusOwn).not.toMatch(/ 500 /);
    expect(foreign).toMatch(/ 401 /);
  });
});
