// Adversarial review of the Shared Signals receiver (round 16a; was attack16a-ssf).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { CompactEncrypt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { CAEP_EVENTS, IntrospectionModule } from '../../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp, type AdapterName } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';

const AUD = 'https://orders.example.com/ssf';
const ISS = 'https://ssf.transmitter.example.com';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * Review 16a: the Shared Signals receiver, attacked over real HTTP on both adapters, with a real oidc-provider
 * (session tokens carrying `sid`) and a transmitter whose JWK Set is served over real HTTP (request-counted).
 */
describe.each(ADAPTERS)('SSF receiver with hostile input (%s)', (adapter: AdapterName) => {
  let as: TestAuthorizationServer;
  let app: { app: INestApplication; url: string };
  let jwksServer: Server;
  let jwksRequests = 0;
  let es: { privateKey: CryptoKey; publicJwk: JWK };
  let rsaPublicJwk: JWK;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    const e = await generateKeyPair('ES256', { extractable: true });
    es = { privateKey: e.privateKey, publicJwk: { ...(await exportJWK(e.publicKey)), kid: 'ssf-1', alg: 'ES256', use: 'sig' } };
    const r = await generateKeyPair('RS256', { extractable: true });
    rsaPublicJwk = { ...(await exportJWK(r.publicKey)), kid: 'ssf-rsa', alg: 'RS256', use: 'sig' };
    jwksServer = createServer((_req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [es.publicJwk, rsaPublicJwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', () => resolve()));
    app = await startApp(
      adapter,
      IntrospectionModule.forRoot({
        issuer: as.issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        cache: { localTtlSeconds: 60, ttlSeconds: 60 },
        clockSkewSeconds: 2,
        // keysRefreshIntervalSeconds: default (30 s)
        securityEvents: { issuer: ISS, audience: AUD, jwksUri: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`, maxAgeSeconds: 60 },
        securityEventReceiver: { path: 'ssf/events', scope: 'this-replica' },
      }),
      [OrdersController],
    );
  });
  afterAll(async () => {
    await app?.app.close();
    await new Promise((resolve) => jwksServer?.close(resolve));
    await as?.stop();
  });

  const url = () => `${app.url}/ssf/events`;
  const claims = (events: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    iss: ISS,
    aud: AUD,
    jti: randomUUID(),
    iat: Math.floor(Date.now() / 1000),
    events,
    ...extra,
  });
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey = es.privateKey) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'ssf-1', typ: 'secevent+jwt', ...header }).sign(key);
  const push = async (body: string | Buffer, contentType = 'application/secevent+jwt', headers: Record<string, string> = {}) => {
    const res = await fetch(url(), { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };
  async function cachedSession() {
    const session = await as.issueSessionToken(`user-${randomUUID().slice(0, 8)}`);
    expect((await call(`${app.url}/orders`, { authorization: `Bearer ${session.token}` })).status).toBe(200);
    await as.endSessionQuietly(session); // revoked at the AS; the cache still says active
    expect((await call(`${app.url}/orders`, { authorization: `Bearer ${session.token}` })).status).toBe(200);
    return session;
  }
  const status = async (token: string) => (await call(`${app.url}/orders`, { authorization: `Bearer ${token}` })).status;

  it('session-revoked with a complex subject {user: email, session: opaque} is accepted (202) and ends the session', async () => {
    const session = await cachedSession();
    const res = await push(
      await sign(
        claims({
          [CAEP_EVENTS.sessionRevoked]: {
            subject: { format: 'complex', user: { format: 'email', email: 'alice@example.com' }, session: { format: 'opaque', id: session.sid } },
            event_timestamp: Math.floor(Date.now() / 1000),
          },
        }),
      ),
    );
    expect(res.status).toBe(202);
    // The session id is right there; the unsupported `user` member makes parseSubject skip the whole subject.
    expect(await status(session.token)).toBe(401);
  });

  it('media type parameters and case (RFC 9110 §8.3.1) are accepted on both adapters', async () => {
    for (const ct of ['application/secevent+jwt; charset=utf-8', 'Application/SecEvent+JWT']) {
      const res = await push(await sign(claims({ 'urn:example:unknown': {} })), ct);
      expect({ ct, status: res.status }).toEqual({ ct, status: 202 });
    }
  });

  it('the receiver is public under the global TokenGuard, and a well-formed SET is accepted (aud array with ours + others)', async () => {
    const session = await cachedSession();
    const res = await push(
      await sign(
        claims(
          { [CAEP_EVENTS.sessionRevoked]: { subject: { format: 'complex', session: { format: 'opaque', id: session.sid } } } },
          { aud: ['https://other.example.com', AUD] },
        ),
      ),
    );
    expect(res.status).toBe(202);
    expect(await status(session.token)).toBe(401);
  });

  it('JOSE header tricks are refused with 400 and evict nothing', async () => {
    const session = await cachedSession();
    const events = { [CAEP_EVENTS.sessionRevoked]: { subject: { format: 'complex', session: { format: 'opaque', id: session.sid } } } };
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'ssf-1', alg: 'ES256' };
    const { createHmac } = await import('node:crypto');
    const hs = (secret: string, header: Record<string, unknown>, payload: Record<string, unknown>) => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const rsaPem = JSON.stringify(rsaPublicJwk);
    const cases: Array<[string, string | Buffer]> = [
      ['embedded jwk (attacker key, our kid)', await sign(claims(events), { jwk: attackerJwk }, attacker.privateKey)],
      ['jku to an attacker JWK Set', await sign(claims(events), { jku: 'http://127.0.0.1:9/jwks' }, attacker.privateKey)],
      ['x5u', await sign(claims(events), { x5u: 'http://127.0.0.1:9/cert' }, attacker.privateKey)],
      ['alg confusion RS256->HS256 with the public JWK as secret', hs(rsaPem, { alg: 'HS256', kid: 'ssf-rsa', typ: 'secevent+jwt' }, claims(events))],
      ['HS256 with the x of the EC key', hs(String(es.publicJwk.x), { alg: 'HS256', kid: 'ssf-1', typ: 'secevent+jwt' }, claims(events))],
      ['unknown crit', `${b64({ alg: 'ES256', kid: 'ssf-1', typ: 'secevent+jwt', crit: ['urn:x'], 'urn:x': 1 })}.${b64(claims(events))}.${'A'.repeat(86)}`],
      ['kid path traversal', await sign(claims(events), { kid: '../../../../etc/passwd' }, attacker.privateKey)],
      ['alg none (upper case)', `${b64({ alg: 'NONE', typ: 'secevent+jwt' })}.${b64(claims(events))}.`],
      ['alg none with a signature segment', `${b64({ alg: 'none', typ: 'secevent+jwt' })}.${b64(claims(events))}.AAAA`],
      ['b64:false', `${b64({ alg: 'ES256', kid: 'ssf-1', typ: 'secevent+jwt', b64: false, crit: ['b64'] })}.x.AAAA`],
      [
        'JWE instead of JWS',
        await new CompactEncrypt(Buffer.from(JSON.stringify(claims(events))))
          .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'secevent+jwt' })
          .encrypt(randomBytes(32)),
      ],
      [
        'duplicate typ (last wins in JSON.parse)',
        `${Buffer.from('{"alg":"ES256","kid":"ssf-1","typ":"JWT","typ":"secevent+jwt"}').toString('base64url')}.${b64(claims(events))}.AAAA`,
      ],
      ['iat as a string', await sign(claims(events, { iat: String(Math.floor(Date.now() / 1000)) }))],
      ['iat huge', await sign(claims(events, { iat: 1e300 }))],
      ['jti missing', await sign(claims(events, { jti: undefined }))],
      ['jti empty', await sign(claims(events, { jti: '' }))],
      ['jti a number', await sign(claims(events, { jti: 42 }))],
      ['events an array', await sign(claims([] as never))],
      ['events member not an object', await sign(claims({ [CAEP_EVENTS.sessionRevoked]: 'x' }))],
      ['two SETs joined', `${await sign(claims(events))}.${await sign(claims(events))}`],
      ['random bytes', randomBytes(2000)],
      ['empty body', ''],
    ];
    for (const [name, body] of cases) {
      const res = await push(body);
      expect({ name, status: res.status }).toEqual({ name, status: 400 });
      expect(typeof res.body?.err).toBe('string');
    }
    expect(await status(session.token)).toBe(200);
  });

  it('gzip Content-Encoding and an oversized chunked body are 4xx, never 500', async () => {
    const { gzipSync } = await import('node:zlib');
    const gz = await push(gzipSync(await sign(claims({ 'urn:x': {} }))), 'application/secevent+jwt', { 'content-encoding': 'gzip' });
    expect(gz.status).toBeGreaterThanOrEqual(400);
    expect(gz.status).toBeLessThan(500);
    // An oversized chunked body on its own connection (destroyed after the answer, see the report about half-read bodies).
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        url(),
        { method: 'POST', headers: { 'content-type': 'application/secevent+jwt', 'transfer-encoding': 'chunked' }, agent: false },
        (r) => {
          resolve(r.statusCode!);
          req.destroy();
        },
      );
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no answer')), 5000);
      for (let i = 0; i < 64; i++) req.write('a'.repeat(4096));
    });
    const res = { status };
    expect([400, 413]).toContain(res.status);
  });

  it('a flood of unknown kids (unauthenticated) costs at most one JWKS refresh per interval', async () => {
    await push(await sign(claims({ 'urn:x': {} }))); // keys loaded
    const before = jwksRequests;
    const floods = await Promise.all(
      Array.from({ length: 100 }, async (_, i) =>
        push(`${b64({ alg: 'ES256', kid: `k-${i}-${randomUUID()}`, typ: 'secevent+jwt' })}.${b64(claims({ 'urn:x': {} }))}.${'A'.repeat(86)}`),
      ),
    );
    expect(floods.every((r) => r.status === 400 && r.body.err === 'invalid_key')).toBe(true);
    await sleep(50);
    expect(jwksRequests - before).toBeLessThanOrEqual(1);
  });
});
