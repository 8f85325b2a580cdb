import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createPublicKey } from 'node:crypto';
import {
  Introspected,
  IntrospectionService,
  RequireIntrospection,
  Scopes,
  type ActiveIntrospectionResult,
  type IntrospectionModuleOptions,
} from '../../lib/index.js';
import { resolveOptions } from '../../lib/options/resolve-options.js';
import { ADAPTERS, call, OrdersController, PublicController, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { ChaosProxy } from '../support/chaos-proxy.js';
import { sleep } from '../support/engine.js';

const AUDIENCE = 'urn:jwt:orders';

/** A revocation-sensitive route beside the ordinary ones. */
@Controller('payments')
@Scopes('read')
class PaymentsController {
  @Get()
  @RequireIntrospection()
  pay(@Introspected() token: ActiveIntrospectionResult) {
    return { sub: token.sub };
  }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const challenge = (res: { headers: Headers }) => res.headers.get('www-authenticate') ?? '';

/**
 * Issue 13: JWT access tokens (RFC 9068) validated locally beside opaque tokens introspected, with a real
 * oidc-provider issuing both kinds (resource indicators + accessTokenFormat 'jwt'), its keys fetched through
 * a loopback proxy that can go down, over Express and Fastify.
 */
describe.each(ADAPTERS)('JWT access tokens over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let keysProxy: ChaosProxy;
  let app: { app: INestApplication; url: string };
  let service: IntrospectionService;
  const options = (): IntrospectionModuleOptions => ({
    issuer: as.issuer,
    ...CLIENTS.basic,
    allowInsecureRequests: true,
    audience: AUDIENCE,
    jwt: { mode: 'local', algorithms: ['RS256'], jwksUri: keysProxy.url('/jwks'), keysRefreshIntervalSeconds: 0 },
    resilience: { retries: 0 },
  });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    keysProxy = await ChaosProxy.start(as.issuer);
    app = await startApp(adapter, options(), [PublicController, OrdersController, PaymentsController]);
    service = app.app.get(IntrospectionService);
  });
  afterAll(async () => {
    await app?.app.close();
    await keysProxy?.stop();
    await as?.stop();
  });

  const jwt = (scope = 'read', resource = AUDIENCE) => as.issueToken({ scope, resource });

  it('a JWT access token is validated locally (no introspection); an opaque token beside it is introspected', async () => {
    const token = await jwt('read');
    expect(token.split('.')).toHaveLength(3);
    as.resetCounters();
    const res = await call(`${app.url}/orders`, bearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ clientId: 'app', scopes: ['read'], sameAsUser: true });
    expect(as.introspectionRequests).toBe(0);

    const opaque = await as.issueToken({ scope: 'read', resource: AUDIENCE.replace('urn:jwt:', 'https://') });
    // Opaque tokens for another audience are introspected (and refused for the audience): the AS was asked.
    expect((await call(`${app.url}/orders`, bearer(opaque))).status).toBe(401);
    expect(as.introspectionRequests).toBe(1);
  });

  it('scopes of a JWT are enforced like introspected ones (403 insufficient_scope)', async () => {
    const res = await call(`${app.url}/orders`, { ...bearer(await jwt('read')), method: 'POST' });
    expect(res.status).toBe(403);
    expect(challenge(res)).toMatch(/error="insufficient_scope"/);
  });

  it('a JWT for another audience: 401 invalid_token (audience mismatch)', async () => {
    const res = await call(`${app.url}/orders`, bearer(await jwt('read', 'urn:jwt:billing')));
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/error="invalid_token".*audience mismatch/);
  });

  it('a JWT signed by a foreign key (same kid, same claims): 401 signature', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ scope: 'read', client_id: 'app', sub: 'app', jti: 'x' })
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: as.currentKid })
      .setIssuer(as.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await call(`${app.url}/orders`, bearer(forged));
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/error="invalid_token".*signature does not verify/);
  });

  it("alg none, and HS256 keyed with the AS's public key (algorithm confusion): 401", async () => {
    const claims = {
      iss: as.issuer,
      aud: AUDIENCE,
      scope: 'read',
      sub: 'app',
      client_id: 'app',
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 300,
    };
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    const jwks = (await (await fetch(as.jwksUri)).json()) as { keys: Array<Record<string, string>> };
    const pem = createPublicKey({ key: jwks.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: as.currentKid }).sign(new TextEncoder().encode(String(pem)));
    for (const token of [none, hs]) {
      const res = await call(`${app.url}/orders`, bearer(token));
      expect(res.status).toBe(401);
      expect(challenge(res)).toMatch(/error="invalid_token".*algorithm not allowed/);
    }
  });

  it('an ID token (typ JWT, signed by the AS, audience right): 401 not an access token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const idToken = await as.signWithServerKey({ iss: as.issuer, sub: 'alice', aud: AUDIENCE, iat: now, exp: now + 300, nonce: 'n' }, 'JWT');
    const res = await call(`${app.url}/orders`, bearer(idToken));
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/error="invalid_token".*not an access token/);
  });

  it('an expired JWT signed by the AS: 401 expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await as.signWithServerKey(
      { iss: as.issuer, sub: 'app', client_id: 'app', aud: AUDIENCE, scope: 'read', iat: now - 600, exp: now - 60 },
      'at+jwt',
    );
    const res = await call(`${app.url}/orders`, bearer(expired));
    expect(res.status).toBe(401);
    expect(challenge(res)).toMatch(/has expired/);
  });

  it('key rotation at the AS: a token signed with the new key passes after one key refresh; old tokens keep passing', async () => {
    const old = await jwt();
    expect((await call(`${app.url}/orders`, bearer(old))).status).toBe(200);
    await as.rotateSigningKey();
    const fresh = await jwt();
    as.resetCounters();
    expect((await call(`${app.url}/orders`, bearer(fresh))).status).toBe(200);
    expect(as.jwksRequests).toBe(1);
    expect((await call(`${app.url}/orders`, bearer(fresh))).status).toBe(200);
    expect((await call(`${app.url}/orders`, bearer(old))).status).toBe(200);
    expect(as.jwksRequests).toBe(1);
  });

  it('evict() of a locally validated JWT: refused (revoked) until it expires; other JWTs still pass', async () => {
    const [victim, other] = [await jwt(), await jwt()];
    expect((await call(`${app.url}/orders`, bearer(victim))).status).toBe(200);
    await service.evict(victim);
    for (let i = 0; i < 2; i++) {
      const res = await call(`${app.url}/orders`, bearer(victim));
      expect(res.status).toBe(401);
      expect(challenge(res)).toMatch(/has been revoked/);
    }
    expect((await call(`${app.url}/orders`, bearer(other))).status).toBe(200);
  });

  it('@RequireIntrospection: an opaque token skips the cache (revocation seen at once) while other routes use it', async () => {
    const opaqueApp = await startApp(adapter, { ...options(), audience: 'https://orders' }, [OrdersController, PaymentsController]);
    try {
      const opaque = await as.issueToken({ scope: 'read', resource: 'https://orders' });
      expect((await call(`${opaqueApp.url}/orders`, bearer(opaque))).status).toBe(200);
      expect((await call(`${opaqueApp.url}/payments`, bearer(opaque))).status).toBe(200);
      await as.revoke(opaque);
      expect((await call(`${opaqueApp.url}/payments`, bearer(opaque))).status).toBe(401);
      // The inactive answer replaced the cached one: the ordinary route refuses it too now.
      expect((await call(`${opaqueApp.url}/orders`, bearer(opaque))).status).toBe(401);
    } finally {
      await opaqueApp.app.close();
    }
  });

  it('@RequireIntrospection with a JWT: introspected as well — oidc-provider cannot introspect JWTs, so 503 (never 200 or 401)', async () => {
    const token = await jwt();
    expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(200);
    as.resetCounters();
    const res = await call(`${app.url}/payments`, bearer(token));
    expect(as.introspectionRequests).toBe(1);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    // The AS's refusal to introspect a JWT is no verdict on the token: ordinary routes still accept it.
    expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(200);
    expect((await call(`${app.url}/payments`, bearer(token))).status).toBe(503);
  });
});

describe.each(ADAPTERS)('the key endpoint down, within and beyond the stale window, over %s', (adapter) => {
  let as: TestAuthorizationServer;
  let keysProxy: ChaosProxy;
  let app: { app: INestApplication; url: string };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    keysProxy = await ChaosProxy.start(as.issuer);
    app = await startApp(
      adapter,
      {
        issuer: as.issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        audience: AUDIENCE,
        jwt: { mode: 'local', jwksUri: keysProxy.url('/jwks'), keysCacheSeconds: 1, keysStaleIfErrorSeconds: 2, verificationCacheSeconds: 0 },
        resilience: { retries: 0, attemptTimeoutMs: 500, circuitBreaker: { consecutiveFailures: 50 } },
      },
      [OrdersController],
    );
  });
  afterAll(async () => {
    await app?.app.close();
    await keysProxy?.stop();
    await as?.stop();
  });

  it('serves with the last keys within the window, then 503 + Retry-After (never 401), then recovers', async () => {
    const token = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(200);
    const fetchedAt = Date.now();
    await keysProxy.setMode('down');
    await sleep(1300);
    // Past freshness (1 s), within the stale window (1 + 2 s): the old keys still verify.
    expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(200);
    await sleep(Math.max(0, fetchedAt + 3300 - Date.now()));
    for (const mode of ['down', 'error500', 'garbage'] as const) {
      await keysProxy.setMode(mode);
      const res = await call(`${app.url}/orders`, bearer(token));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(res.headers.get('www-authenticate')).toBeNull();
    }
    await keysProxy.setMode('ok');
    expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(200);
  });
});

describe('key endpoint failures feed the circuit breaker of the authorization server', () => {
  it("a JWKS outage opens the key endpoint's own breaker (introspection keeps working); garbage tokens never fetch keys", async () => {
    const as = await TestAuthorizationServer.start();
    const keysProxy = await ChaosProxy.start(as.issuer);
    const app = await startApp(
      'fastify',
      {
        issuer: as.issuer,
        ...CLIENTS.basic,
        allowInsecureRequests: true,
        audience: AUDIENCE,
        jwt: { mode: 'local', jwksUri: keysProxy.url('/jwks') },
        exposeOutageReason: true, // the 503 body names its reason (development option), asserted below
        resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
      },
      [OrdersController],
    );
    try {
      const service = app.app.get(IntrospectionService);
      const token = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      as.resetCounters();
      // A JWT with an algorithm outside the allow-list is refused before any key work.
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      expect((await call(`${app.url}/orders`, bearer(`${b64({ alg: 'HS512', typ: 'at+jwt' })}.${b64({ a: 1 })}.c2ln`))).status).toBe(401);
      expect(as.jwksRequests).toBe(0);
      await keysProxy.setMode('error500');
      expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(503);
      expect((await call(`${app.url}/orders`, bearer(token))).status).toBe(503);
      const third = await call(`${app.url}/orders`, bearer(token));
      expect(third.status).toBe(503);
      expect(third.body.message).toMatch(/circuit_open/); // the keys' breaker opened...
      expect(service.circuitState).toBe('closed'); // ...not the one in front of the introspection endpoint
    } finally {
      await app.app.close();
      await keysProxy.stop();
      await as.stop();
    }
  });
});

describe.each(ADAPTERS)("jwt.mode 'refuse' over %s", (adapter) => {
  it('a JWT: 401 without calling anyone; an opaque token: introspected as before', async () => {
    const as = await TestAuthorizationServer.start();
    const app = await startApp(
      adapter,
      { issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, audience: 'https://orders', jwt: { mode: 'refuse' } },
      [OrdersController],
    );
    try {
      as.resetCounters();
      const res = await call(`${app.url}/orders`, bearer(await as.issueToken({ scope: 'read', resource: AUDIENCE })));
      expect(res.status).toBe(401);
      expect(challenge(res)).toMatch(/JWT access tokens are not accepted/);
      expect(as.introspectionRequests + as.jwksRequests).toBe(0);
      expect((await call(`${app.url}/orders`, bearer(await as.issueToken({ scope: 'read', resource: 'https://orders' })))).status).toBe(200);
    } finally {
      await app.app.close();
      await as.stop();
    }
  });
});

describe('start-up validation of the jwt options (fix-it messages)', () => {
  const base = { issuer: 'https://as.example', clientId: 'api', clientSecret: 'secret' };
  it.each([
    [{ ...base, jwt: {} }, /checks the token's `aud`.*set `audience`/],
    [
      { introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's', audience: 'a', jwt: {} },
      /checks the token's `iss`[\s\S]*needs the authorization server's keys/,
    ],
    [{ ...base, audience: 'a', jwt: { algorithms: ['none'] } }, /lists 'none'/],
    [{ ...base, audience: 'a', jwt: { algorithms: ['HS256'] } }, /lists 'HS256': HMAC/],
    [{ ...base, audience: 'a', jwt: { mode: 'sometimes' } }, /`jwt.mode` 'sometimes' is unknown/],
    [{ ...base, audience: 'a', jwt: { jwksUri: 'http://as.example/jwks' } }, /`jwt.jwksUri` must be https/],
    [
      { introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's', signedIntrospection: { mode: 'require' } },
      /`signedIntrospection` checks the response's `iss`/,
    ],
  ])('%#', (options, message) => {
    expect(() => resolveOptions(options as IntrospectionModuleOptions)).toThrow(message);
  });
  it('a valid local configuration resolves, with a start-up note about revocation and introspection of JWTs', () => {
    const resolved = resolveOptions({ ...base, audience: 'a', jwt: {} });
    expect(resolved.jwt).toMatchObject({ mode: 'local', requireTyp: true, issuer: 'https://as.example' });
    expect(resolved.warnings.join('\n')).toMatch(/unsupported_token_type/);
    // Issue 23: `mode: 'local'` written out is a choice made, not a default to point out at every start.
    expect(resolveOptions({ ...base, audience: 'a', jwt: { mode: 'local' } }).warnings.join('\n')).not.toMatch(/validated locally/);
  });
});

describe('unknown kid: one rate-limited key refresh (engine, real oidc-provider)', () => {
  it('floods of unknown kids fetch the keys at most once per interval; a rotated key passes once a refresh is allowed', async () => {
    const { createEngine } = await import('../support/engine.js');
    const as = await TestAuthorizationServer.start();
    const engine = await createEngine({
      issuer: as.issuer,
      ...CLIENTS.basic,
      allowInsecureRequests: true,
      audience: AUDIENCE,
      jwt: { mode: 'local', keysRefreshIntervalSeconds: 1 },
    });
    try {
      expect((await engine.service.introspect(await as.issueToken({ scope: 'read', resource: AUDIENCE }))).active).toBe(true);
      await sleep(1100);
      as.resetCounters();
      const now = Math.floor(Date.now() / 1000);
      const { privateKey } = await generateKeyPair('RS256');
      const randomKid = () =>
        new SignJWT({ iss: as.issuer, aud: AUDIENCE, exp: now + 60 })
          .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: Math.random().toString(36) })
          .sign(privateKey);
      const flood = await Promise.all(Array.from({ length: 50 }, async () => engine.service.introspect(await randomKid())));
      expect(flood.every((r) => !r.active && r.reason === 'invalid_signature')).toBe(true);
      expect(as.jwksRequests).toBe(1);
      // Rotation right after that refresh: refused until the interval has passed, then accepted (not remembered as refused).
      await as.rotateSigningKey();
      const rotated = await as.issueToken({ scope: 'read', resource: AUDIENCE });
      expect(await engine.service.introspect(rotated)).toEqual({ active: false, reason: 'invalid_signature' });
      expect(as.jwksRequests).toBe(1);
      await sleep(1100);
      expect((await engine.service.introspect(rotated)).active).toBe(true);
      expect(as.jwksRequests).toBe(2);
    } finally {
      await engine.close();
      await as.stop();
    }
  });
});

describe('junk JWT-shaped tokens (property-based, engine, real oidc-provider keys)', () => {
  it('any header/payload/signature combination is refused with a reason, never throws, never fetches keys more than once', async () => {
    const fc = await import('fast-check');
    const { createEngine } = await import('../support/engine.js');
    const as = await TestAuthorizationServer.start();
    const engine = await createEngine({ issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, audience: AUDIENCE, jwt: { mode: 'local' } });
    try {
      await engine.service.introspect(await as.issueToken({ scope: 'read', resource: AUDIENCE }));
      as.resetCounters();
      const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
      const header = fc.record(
        {
          alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'PS256', 'EdDSA', 42),
          typ: fc.constantFrom('at+jwt', 'JWT', undefined),
          kid: fc.option(fc.string()),
        },
        { requiredKeys: [] },
      );
      const payload = fc.oneof(
        fc.jsonValue(),
        fc.record(
          {
            iss: fc.constantFrom(as.issuer, 1, null),
            aud: fc.constantFrom(AUDIENCE, [AUDIENCE], 3),
            exp: fc.oneof(fc.integer(), fc.string()),
            scope: fc.oneof(fc.string(), fc.integer()),
          },
          { requiredKeys: [] },
        ),
      );
      await fc.assert(
        fc.asyncProperty(header, payload, fc.string(), async (h, p, sig) => {
          const token = `eyJ${b64(h).slice(3)}.${b64(p) || 'e30'}.${b64(sig)}`;
          const result = await engine.service.introspect(token);
          expect(result.active).toBe(false);
          expect(typeof (result as { reason: string }).reason).toBe('string');
        }),
        { numRuns: 300 },
      );
      expect(as.jwksRequests).toBeLessThanOrEqual(1);
    } finally {
      await engine.close();
      await as.stop();
    }
  });
});

describe('a key set whose keys have no kid (engine, keys served over HTTP)', () => {
  it('each matching key is tried: a token signed by the second key passes, one signed by neither does not', async () => {
    const { createEngine } = await import('../support/engine.js');
    const { FaultyServer } = await import('../support/faulty-server.js');
    const { exportJWK } = await import('jose');
    const pairs = [await generateKeyPair('ES256'), await generateKeyPair('ES256')];
    const keys = await Promise.all(pairs.map(async (p) => ({ ...(await exportJWK(p.publicKey)), alg: 'ES256' })));
    const server = await FaultyServer.start((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    const issuer = 'https://as.example';
    const engine = await createEngine({
      introspectionEndpoint: server.url,
      expectedIssuer: issuer,
      clientId: 'api',
      clientSecret: 's',
      allowInsecureRequests: true,
      audience: AUDIENCE,
      jwt: { mode: 'local', jwksUri: server.url.replace('/introspect', '/jwks'), algorithms: ['ES256'] },
    });
    const sign = (key: CryptoKey) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    try {
      expect((await engine.service.introspect(await sign(pairs[1].privateKey))).active).toBe(true);
      expect(await engine.service.introspect(await sign((await generateKeyPair('ES256')).privateKey))).toEqual({ active: false, reason: 'invalid_signature' });
    } finally {
      await engine.close();
      await server.stop();
    }
  });
});
