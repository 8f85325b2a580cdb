import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { generateKeyPair, SignJWT } from 'jose';
import type { IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, call, OrdersController, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { FaultyServer } from '../support/faulty-server.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * Issue 13, RFC 9701: signed introspection responses from a real oidc-provider (`features.jwtIntrospection`,
 * a client registered with `introspection_signed_response_alg`), and forged or unsigned answers from a real
 * misbehaving server that must never pass. Both adapters.
 */
describe.each(ADAPTERS)('signed introspection responses (RFC 9701) over %s', (adapter) => {
  let as: TestAuthorizationServer;
  const apps: Array<{ app: INestApplication; url: string }> = [];
  const start = async (options: Partial<IntrospectionModuleOptions>) => {
    const app = await startApp(adapter, { issuer: as.issuer, allowInsecureRequests: true, ...CLIENTS.signed, resilience: { retries: 0 }, ...options }, [
      OrdersController,
    ]);
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    for (const app of apps) await app.app.close();
    await as?.stop();
  });

  it("'require': the signed answer of oidc-provider is verified and used; the request asked for it", async () => {
    const app = await start({ signedIntrospection: { mode: 'require' } });
    as.resetCounters();
    const res = await call(`${app.url}/orders`, bearer(await as.issueToken({ scope: 'read' })));
    expect(res.status).toBe(200);
    expect(res.body.clientId).toBe('app');
    expect(as.introspectionLog[0].headers.accept).toBe('application/token-introspection+jwt');
    // A revoked token: the signed answer says inactive → 401.
    const revoked = await as.issueToken({ scope: 'read' });
    await as.revoke(revoked);
    expect((await call(`${app.url}/orders`, bearer(revoked))).status).toBe(401);
  });

  it("an AS that answers plain JSON (jwtIntrospection off): 'require' → 503, never a pass; 'prefer' → 200", async () => {
    const jsonOnly = await TestAuthorizationServer.start({ jwtIntrospection: false });
    try {
      const token = await jsonOnly.issueToken({ scope: 'read' });
      const required = await start({ issuer: jsonOnly.issuer, signedIntrospection: { mode: 'require' } });
      const res = await call(`${required.url}/orders`, bearer(token));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const preferred = await start({ issuer: jsonOnly.issuer, signedIntrospection: { mode: 'prefer' } });
      expect((await call(`${preferred.url}/orders`, bearer(token))).status).toBe(200);
    } finally {
      await jsonOnly.stop();
    }
  });

  it("'prefer' with an AS that signs: the signed answer is verified (a revoked token is refused)", async () => {
    const app = await start({ signedIntrospection: { mode: 'prefer' } });
    as.resetCounters();
    expect((await call(`${app.url}/orders`, bearer(await as.issueToken({ scope: 'read' })))).status).toBe(200);
    expect(as.introspectionLog[0].headers.accept).toMatch(/^application\/token-introspection\+jwt, application\/json;q=0.5$/);
    const revoked = await as.issueToken({ scope: 'read' });
    await as.revoke(revoked);
    expect((await call(`${app.url}/orders`, bearer(revoked))).status).toBe(401);
  });

  describe('forged answers from a server in front of the AS keys', () => {
    let faulty: FaultyServer;
    let app: { app: INestApplication; url: string };
    beforeAll(async () => {
      faulty = await FaultyServer.start((_req, res) => void res.end());
      app = await startApp(
        adapter,
        {
          introspectionEndpoint: faulty.url,
          expectedIssuer: as.issuer,
          allowInsecureRequests: true,
          ...CLIENTS.signed,
          jwt: { mode: 'introspect', jwksUri: as.jwksUri },
          signedIntrospection: { mode: 'require', maxAgeSeconds: 30 },
          cache: false,
          resilience: { retries: 0, circuitBreaker: false },
        },
        [OrdersController],
      );
      apps.push(app);
    });
    afterAll(async () => faulty?.stop());

    const now = () => Math.floor(Date.now() / 1000);
    const inner = { active: true, scope: 'read', client_id: 'app', token_type: 'Bearer' };
    const answer = (jwt: string, type = 'application/token-introspection+jwt') => {
      faulty.behaviour = (_req, res) => {
        res.writeHead(200, { 'content-type': type });
        res.end(jwt);
      };
    };
    const expectStatus = async (status: number) => {
      const res = await call(`${app.url}/orders`, bearer('opaque-token-value-123'));
      expect(res.status).toBe(status);
    };

    it('a correctly signed answer passes (control: the setup itself works)', async () => {
      answer(await as.signWithServerKey({ iss: as.issuer, aud: CLIENTS.signed.clientId, iat: now(), token_introspection: inner }, 'token-introspection+jwt'));
      await expectStatus(200);
    });
    it('signed by a foreign key: 503', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      answer(
        await new SignJWT({ iss: as.issuer, aud: CLIENTS.signed.clientId, iat: now(), token_introspection: inner })
          .setProtectedHeader({ alg: 'RS256', typ: 'token-introspection+jwt', kid: as.currentKid })
          .sign(privateKey),
      );
      await expectStatus(503);
    });
    it('unsigned (alg none): 503', async () => {
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      answer(
        `${b64({ alg: 'none', typ: 'token-introspection+jwt' })}.${b64({ iss: as.issuer, aud: CLIENTS.signed.clientId, iat: now(), token_introspection: inner })}.`,
      );
      await expectStatus(503);
    });
    it('wrong typ, wrong aud, wrong iss, stale iat, no token_introspection: 503 each', async () => {
      const good = { iss: as.issuer, aud: CLIENTS.signed.clientId, iat: now(), token_introspection: inner };
      for (const [claims, typ] of [
        [good, 'JWT'],
        [{ ...good, aud: 'another-api' }, 'token-introspection+jwt'],
        [{ ...good, iss: 'https://evil.example' }, 'token-introspection+jwt'],
        [{ ...good, iat: now() - 600 }, 'token-introspection+jwt'],
        [{ ...good, token_introspection: undefined, active: true }, 'token-introspection+jwt'],
      ] as const) {
        answer(await as.signWithServerKey(claims, typ));
        await expectStatus(503);
      }
    });
    it('plain JSON saying active: 503 in require mode', async () => {
      answer(JSON.stringify(inner), 'application/json');
      await expectStatus(503);
    });
  });
});
