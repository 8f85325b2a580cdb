import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { Introspected, IntrospectionService, RequireIntrospection, type ActiveIntrospectionResult, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { FaultyServer } from '../support/faulty-server.js';
import { describeWithRedis, TestRedis } from '../support/redis-server.js';

const AUDIENCE = 'urn:jwt:orders';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

@Controller('whoami')
class WhoAmIController {
  @Get()
  who(@Introspected() token: ActiveIntrospectionResult) {
    return { username: token.username ?? null, sub: token.sub ?? null };
  }

  @Get('fresh')
  @RequireIntrospection()
  fresh(@Introspected() token: ActiveIntrospectionResult) {
    return { username: token.username ?? null };
  }
}

/**
 * Issue 13: `evict()` of a locally validated JWT refuses it until it expires on every replica — the running
 * ones (Redis broadcast) and one started after the eviction (the mark in Redis). Real oidc-provider, real Redis.
 */
describeWithRedis('evicting a JWT across replicas sharing a real Redis', () => {
  let as: TestAuthorizationServer;
  let redis: TestRedis;
  const replicas: Array<{ app: INestApplication; url: string }> = [];
  const options = (): IntrospectionModuleOptions => ({
    issuer: as.issuer,
    ...CLIENTS.basic,
    allowInsecureRequests: true,
    audience: AUDIENCE,
    jwt: { mode: 'local', maxTokenLifetimeSeconds: 3600 },
    cache: { redis: redis.url, localTtlSeconds: 60 },
    clockSkewSeconds: 1,
  });

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    redis = await TestRedis.start();
    replicas.push(await startApp('express', options(), [OrdersController]), await startApp('fastify', options(), [OrdersController]));
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.app.close();
    await redis?.kill();
    await as?.stop();
  });

  it('refused on the replica that evicted, on a running replica that had it cached, and on a replica started later', async () => {
    const [a, b] = replicas;
    const victim = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    const other = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    for (const replica of [a, b]) expect((await call(`${replica.url}/orders`, bearer(victim))).status).toBe(200);

    await a.app.get(IntrospectionService).evict(victim);
    await sleep(200); // pub/sub delivery
    for (const replica of [a, b]) {
      const res = await call(`${replica.url}/orders`, bearer(victim));
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/has been revoked/);
    }
    const c = await startApp('express', options(), [OrdersController]);
    replicas.push(c);
    expect((await call(`${c.url}/orders`, bearer(victim))).status).toBe(401);
    expect((await call(`${c.url}/orders`, bearer(other))).status).toBe(200);
    // The mark lives exactly as long as the token (its exp + leeway), not forever.
    const ttls = redis
      .cli('KEYS', '*revoked:*')
      .split('\n')
      .filter(Boolean)
      .map((key) => Number(redis.cli('PTTL', key)));
    expect(ttls).toHaveLength(1);
    expect(ttls[0]).toBeGreaterThan(500_000);
    expect(ttls[0]).toBeLessThanOrEqual(601_000);
  });

  it('evictBySubject: JWTs of the subject issued before it are refused on every replica (one started later too); newer ones pass', async () => {
    const [a, b] = replicas;
    // Client-credentials JWTs of oidc-provider: sub = client_id = 'app'.
    const before = [await as.issueToken({ scope: 'read', resource: AUDIENCE }), await as.issueToken({ scope: 'read', resource: AUDIENCE })];
    for (const replica of [a, b]) for (const token of before) expect((await call(`${replica.url}/orders`, bearer(token))).status).toBe(200);
    await b.app.get(IntrospectionService).evictBySubject('app');
    await sleep(200);
    const late = await startApp('fastify', options(), [OrdersController]);
    replicas.push(late);
    for (const replica of [a, b, late]) {
      for (const token of before) {
        const res = await call(`${replica.url}/orders`, bearer(token));
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/has been revoked/);
      }
    }
    // The subject in Redis is hashed, never in clear.
    expect(
      redis
        .cli('KEYS', '*')
        .split('\n')
        .some((key) => key.includes(':app') || key.endsWith('app')),
    ).toBe(false);
    // Issued after the eviction (beyond the 1 s leeway): accepted again, everywhere.
    await sleep(2100);
    const after = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    for (const replica of [a, b, late]) expect((await call(`${replica.url}/orders`, bearer(after))).status).toBe(200);
  });

  it('evictByJti (and the webhook form { jti }): that one JWT is refused on every replica, another of the same client passes', async () => {
    const [a, b] = replicas;
    await sleep(1100); // past the leeway of the subject eviction above
    const target = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    const other = await as.issueToken({ scope: 'read', resource: AUDIENCE });
    for (const replica of [a, b]) for (const token of [target, other]) expect((await call(`${replica.url}/orders`, bearer(token))).status).toBe(200);
    const { jti } = JSON.parse(Buffer.from(target.split('.')[1], 'base64url').toString()) as { jti: string };
    await a.app.get(IntrospectionService).evictByJti(jti);
    await sleep(200);
    const late = await startApp('express', options(), [OrdersController]);
    replicas.push(late);
    for (const replica of [a, b, late]) {
      expect((await call(`${replica.url}/orders`, bearer(target))).status).toBe(401);
      expect((await call(`${replica.url}/orders`, bearer(other))).status).toBe(200);
    }
    expect(
      redis
        .cli('KEYS', '*')
        .split('\n')
        .some((key) => key.includes(jti)),
    ).toBe(false); // hashed, never in clear
  });
});

/**
 * A Keycloak-like authorization server on loopback: a JWK Set, and an introspection endpoint that *can*
 * introspect its JWTs (oidc-provider cannot), answering the claims that "lightweight" JWTs leave out.
 */
class JwtIntrospectingServer {
  readonly revoked = new Set<string>();
  introspections = 0;
  private constructor(
    readonly server: FaultyServer,
    private readonly key: CryptoKey,
  ) {}

  static async start(): Promise<JwtIntrospectingServer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'kc-1', alg: 'ES256', use: 'sig' };
    let self: JwtIntrospectingServer | undefined;
    const server = await FaultyServer.start((req, res, body) => {
      if (req.url === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
        return;
      }
      self!.introspections++;
      const token = new URLSearchParams(body).get('token') ?? '';
      const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}') as Record<string, unknown>;
      const active = !self!.revoked.has(token);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(
          JSON.stringify(active ? { active: true, ...payload, username: 'alice', scope: 'read', client_id: 'app', token_type: 'Bearer' } : { active: false }),
        );
    });
    self = new JwtIntrospectingServer(server, privateKey);
    return self;
  }

  get issuer(): string {
    return this.server.url.replace('/introspect', '');
  }

  /** A lightweight JWT access token: signed, typed, audience and expiry — no scope, no identity. */
  issue(audience = AUDIENCE): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'kc-1' })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setJti(Math.random().toString(36).slice(2))
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(this.key);
  }
}

describe.each(ADAPTERS)('lightweight JWTs and revocation-sensitive routes with an AS that introspects JWTs, over %s', (adapter) => {
  let kc: JwtIntrospectingServer;
  const apps: Array<{ app: INestApplication; url: string }> = [];
  const start = async (mode: 'local' | 'local-then-introspect') => {
    const app = await startApp(
      adapter,
      {
        introspectionEndpoint: kc.server.url,
        expectedIssuer: kc.issuer,
        clientId: 'api',
        clientSecret: 'secret',
        allowInsecureRequests: true,
        audience: AUDIENCE,
        jwt: { mode, jwksUri: `${kc.issuer}/jwks`, algorithms: ['ES256'] },
      },
      [WhoAmIController],
    );
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    kc = await JwtIntrospectingServer.start();
  });
  afterAll(async () => {
    for (const app of apps) await app.app.close();
    await kc?.server.stop();
  });

  it("'local-then-introspect': validated locally, claims from introspection (cached); forged ones never reach the AS", async () => {
    const app = await start('local-then-introspect');
    const token = await kc.issue();
    kc.introspections = 0;
    const res = await call(`${app.url}/whoami`, bearer(token));
    expect(res.status).toBe(200);
    expect(res.body.username).toBe('alice');
    expect((await call(`${app.url}/whoami`, bearer(token))).status).toBe(200);
    expect(kc.introspections).toBe(1);
    // Signed by someone else: refused locally, the AS is not asked.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'kc-1' })
      .setIssuer(kc.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    expect((await call(`${app.url}/whoami`, bearer(forged))).status).toBe(401);
    expect(kc.introspections).toBe(1);
  });

  it("'local' + @RequireIntrospection: a JWT revoked at the AS is refused there at once, and then everywhere until exp", async () => {
    const app = await start('local');
    const token = await kc.issue();
    kc.introspections = 0;
    expect((await call(`${app.url}/whoami`, bearer(token))).body).toEqual({ username: null, sub: null });
    expect(kc.introspections).toBe(0);
    expect((await call(`${app.url}/whoami/fresh`, bearer(token))).body).toEqual({ username: 'alice' });
    expect(kc.introspections).toBe(1);
    kc.revoked.add(token);
    // The ordinary route validates locally and cannot see the revocation...
    // (it may serve the AS's earlier answer from cache; either way it is accepted)
    expect((await call(`${app.url}/whoami`, bearer(token))).status).toBe(200);
    // ...the revocation-sensitive route asks the AS every time:
    expect((await call(`${app.url}/whoami/fresh`, bearer(token))).status).toBe(401);
    expect(kc.introspections).toBe(2);
    // What the AS said last counts: the ordinary route refuses it too now, without asking.
    const res = await call(`${app.url}/whoami`, bearer(token));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/revoked/);
    expect(kc.introspections).toBe(2);
  });
});

describe('evict() racing local verifications of the same JWT (real oidc-provider keys)', () => {
  it('no verification that finishes after the eviction resolves accepts the token, nor leaves it cached', async () => {
    const { createEngine } = await import('../support/engine.js');
    const as = await TestAuthorizationServer.start();
    const engine = await createEngine({ issuer: as.issuer, ...CLIENTS.basic, allowInsecureRequests: true, audience: AUDIENCE, jwt: { mode: 'local' } });
    try {
      for (let round = 0; round < 5; round++) {
        const token = await as.issueToken({ scope: 'read', resource: AUDIENCE });
        const racing = Array.from({ length: 20 }, () => engine.service.introspect(token));
        await engine.service.evict(token);
        const evictedAt = Date.now();
        const settled = await Promise.all(racing.map((p) => p.then((r) => ({ r, at: Date.now() }))));
        // Answers that arrive later than the eviction's completion all refuse it...
        for (const { r, at } of settled) if (at > evictedAt + 5) expect(r.active).toBe(false);
        // ...and every later call does, with nothing cached from before.
        for (let i = 0; i < 3; i++) expect(await engine.service.introspect(token)).toEqual({ active: false, reason: 'revoked' });
      }
    } finally {
      await engine.close();
      await as.stop();
    }
  });
});
