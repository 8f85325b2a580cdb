// Adversarial review of local JWT validation against classic forgeries (round 13; was attack13-classic).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createPrivateKey, sign as nodeSign } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, CompactEncrypt } from 'jose';
import { ADAPTERS, call, OrdersController, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';

const AUDIENCE = 'urn:jwt:orders';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * Classic JWT attacks against local validation, with the real AS's own private key where the attack needs a
 * genuine signature (raw header/payload bytes: duplicate keys, crit, b64:false, exp as a string...).
 * These are the attacks that HELD UP: every case must be 401 (or 400 for malformed credentials), never 200/500.
 */
describe.each(ADAPTERS)('classic JWT forgeries over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let app: { app: INestApplication; url: string };
  let signRaw: (header: string | object, payload: string | object) => string;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await startApp(adapter, { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, audience: AUDIENCE, jwt: { mode: 'local' } }, [
      OrdersController,
    ]);
    const jwk =
      (as as unknown as { signingKeys: Array<Record<string, string>> }).signingKeys?.[0] ??
      (as as unknown as { server: { signingKeys: Array<Record<string, string>> } }).server.signingKeys[0];
    const key = createPrivateKey({ key: jwk, format: 'jwk' });
    signRaw = (header, payload) => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${nodeSign('sha256', Buffer.from(input), key).toString('base64url')}`;
    };
  });
  afterAll(async () => {
    await app?.app.close();
    await as?.stop();
  });

  it('every forged or mis-typed token is refused (401/400), never 200 or 500', async () => {
    const now = Math.floor(Date.now() / 1000);
    const kid = as.currentKid;
    const claims = { iss: as.issuer, aud: AUDIENCE, scope: 'read', sub: 'app', client_id: 'app', iat: now, exp: now + 300, jti: 'j1' };
    const good = signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, claims);
    expect((await call(`${app.url}/orders`, bearer(good))).status).toBe(200); // control
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const attackerJwk = await exportJWK(publicKey);
    const attacker = (header: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...header }).sign(privateKey);
    const cases: Record<string, string> = {
      'alg None': `${b64({ alg: 'None', typ: 'at+jwt' })}.${b64(claims)}.`,
      'alg NONE': `${b64({ alg: 'NONE', typ: 'at+jwt' })}.${b64(claims)}.`,
      'embedded jwk': await attacker({ jwk: attackerJwk }),
      'jku to attacker': await attacker({ jku: 'http://127.0.0.1:1/jwks', kid: 'x' }),
      x5u: await attacker({ x5u: 'http://127.0.0.1:1/cert' }),
      'kid traversal': await attacker({ kid: '../../../../dev/null' }),
      'kid sql': await attacker({ kid: "' OR 1=1 --" }),
      'kid long': await attacker({ kid: 'k'.repeat(2000) }),
      'kid = AS kid, attacker key': await attacker({ kid }),
      'crit unknown (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid, crit: ['exp2'], exp2: 1 }, claims),
      'b64 false (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid, crit: ['b64'], b64: false }, claims),
      'nested cty JWT (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid, cty: 'JWT' }, signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, claims)),
      'exp as a string (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, exp: String(now + 300) }),
      'nbf as a string (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, nbf: String(now) }),
      'no exp (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, exp: undefined }),
      'iss trailing slash (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, iss: `${as.issuer}/` }),
      'duplicate aud, last wrong (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, JSON.stringify(claims).replace('}', ',"aud":"urn:jwt:billing"}')),
      'duplicate typ in header (AS-signed)': signRaw(`{"alg":"RS256","typ":"at+jwt","kid":"${kid}","typ":"JWT"}`, claims),
      'ID token (AS-signed)': signRaw({ alg: 'RS256', typ: 'JWT', kid }, { ...claims, nonce: 'n' }),
      'logout token (AS-signed)': signRaw(
        { alg: 'RS256', typ: 'logout+jwt', kid },
        { ...claims, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } },
      ),
      'no typ (AS-signed)': signRaw({ alg: 'RS256', kid }, claims),
      'other resource (real AS)': await as.issueToken({ scope: 'read', resource: 'urn:jwt:billing' }),
      'scope not a string (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, scope: ['read'] }),
      'cnf bound, presented as Bearer (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, cnf: { jkt: 'x' } }),
      'aud homoglyph (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, { ...claims, aud: 'urn:jwt:ordеrs' }),
      'JWE (5 segments)': await new CompactEncrypt(new TextEncoder().encode(good))
        .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', cty: 'JWT' })
        .encrypt((await generateKeyPair('RSA-OAEP-256')).publicKey),
      'two dots only': `${b64({ alg: 'RS256' })}..`,
      'header not JSON': `eyJ${b64('garbage').slice(3)}.${b64(claims)}.AAAA`,
      'payload array (AS-signed)': signRaw({ alg: 'RS256', typ: 'at+jwt', kid }, [claims]),
    };
    const results: Record<string, number> = {};
    for (const [name, token] of Object.entries(cases)) results[name] = (await call(`${app.url}/orders`, bearer(token))).status;
    // Padding / whitespace / oversize are malformed credentials: 400 before anything else.
    for (const [name, header] of Object.entries({
      'two tokens': `Bearer ${good} ${good}`,
      huge: `Bearer ${good}${'A'.repeat(5000)}`,
      'tab inside': `Bearer ${good.replace('.', '.\t')}`,
    })) {
      results[name] = (await call(`${app.url}/orders`, { authorization: header })).status;
    }
    const accepted = Object.entries(results).filter(([, s]) => s === 200 || s >= 500);
    expect(accepted).toEqual([]);
  });

  it('typ variants allowed by RFC 9068 (AT+JWT, application/at+jwt) and aud arrays with the right value pass', async () => {
    const now = Math.floor(Date.now() / 1000);
    const kid = as.currentKid;
    const claims = { iss: as.issuer, aud: [AUDIENCE, 'urn:jwt:other'], scope: 'read', sub: 'app', client_id: 'app', iat: now, exp: now + 300 };
    for (const typ of ['AT+JWT', 'application/at+jwt', 'Application/AT+JWT']) {
      expect((await call(`${app.url}/orders`, bearer(signRaw({ alg: 'RS256', typ, kid }, claims)))).status).toBe(200);
    }
  });
});
