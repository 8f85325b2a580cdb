import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionService } from '../../lib/index.js';
import { ADAPTERS } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { GATEWAYS, gateways, identityOf, startDecisionApp, type Decision, type OriginalRequest } from '../support/forward-auth.js';

/**
 * The decision endpoint's status table, as each gateway asks (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz
 * HTTP), over Express and Fastify, against a real oidc-provider: the same answers as TokenGuard.
 */
describe.each(ADAPTERS)('forward-auth decision endpoint over %s (real oidc-provider)', (adapter) => {
  describe.each(GATEWAYS)('asked as %s asks', (gateway, originalRequest) => {
    let as: TestAuthorizationServer;
    let app: INestApplication;
    let decision: string;
    let read: string;
    let admin: string;
    const ask = (original: OriginalRequest): Promise<Decision> => gateways[gateway](decision, original);
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    beforeAll(async () => {
      as = await TestAuthorizationServer.start();
      ({ app, decision } = await startDecisionApp(
        adapter,
        { ...introspectionAt(as), realm: 'edge', resilience: { retries: 0, attemptTimeoutMs: 500, deadlineMs: 1000, retryAfterSeconds: 9 } },
        {
          originalRequest,
          locations: [
            { prefix: '/admin', scopes: ['admin'] },
            { prefix: '/public', public: true },
          ],
        },
      ));
      read = await as.issueToken({ scope: 'read', claims: { sub: 'user-1', username: 'alice' } });
      admin = await as.issueToken({ scope: 'read admin' });
    });
    afterAll(async () => {
      await app?.close();
      await as?.stop();
    });

    it('a valid token: 200, an empty body, the identity headers (subject, scopes, client id, username, expiry)', async () => {
      const res = await ask({ uri: '/orders?page=2', headers: bearer(read) });
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
      expect(res.headers['x-auth-subject']).toBe('user-1');
      expect(res.headers['x-auth-username']).toBe('alice');
      expect(res.headers['x-auth-client-id']).toBe(CLIENTS.app.clientId);
      expect(res.headers['x-auth-scopes']).toBe('read');
      expect(Number(res.headers['x-auth-expires'])).toBeGreaterThan(Date.now() / 1000);
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('the same token again is decided from the cache: one call to the authorization server', async () => {
      const token = await as.issueToken({ scope: 'read' });
      as.resetCounters();
      for (let i = 0; i < 3; i++) expect((await ask({ uri: '/orders', headers: bearer(token) })).status).toBe(200);
      expect(as.introspectionRequests).toBe(1);
    });

    it('no token: 401 with a bare Bearer challenge and no identity headers', async () => {
      const res = await ask({ uri: '/orders' });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="edge"');
      expect(identityOf(res)).toEqual({});
    });

    it('an unknown (garbage) token: 401 invalid_token, no identity headers', async () => {
      const res = await ask({ uri: '/orders', headers: bearer('garbage-token-the-as-never-issued') });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="edge", error="invalid_token"/);
      expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      expect(identityOf(res)).toEqual({});
    });

    it('malformed credentials: 400 invalid_request without asking the authorization server', async () => {
      as.resetCounters();
      const res = await ask({ uri: '/orders', headers: { authorization: 'Bearer two tokens' } });
      expect(res.status).toBe(400);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_request"/);
      expect(identityOf(res)).toEqual({});
      expect(as.introspectionRequests).toBe(0);
    });

    it('a token longer than maxTokenLength: 400 invalid_request, no lookup', async () => {
      as.resetCounters();
      const res = await ask({ uri: '/orders', headers: bearer('a'.repeat(5000)) });
      expect(res.status).toBe(400);
      expect(as.introspectionRequests).toBe(0);
    });

    it('an expired token: 401 invalid_token', async () => {
      const token = await as.issueToken({ scope: 'read', ttlSeconds: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const res = await ask({ uri: '/orders', headers: bearer(token) });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect(identityOf(res)).toEqual({});
    });

    it('a token revoked at the AS and evicted: 401 invalid_token at once, no identity headers', async () => {
      const token = await as.issueToken({ scope: 'read' });
      expect((await ask({ uri: '/orders', headers: bearer(token) })).status).toBe(200);
      await as.revoke(token);
      await app.get(IntrospectionService).evict(token);
      const res = await ask({ uri: '/orders', headers: bearer(token) });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect(identityOf(res)).toEqual({});
    });

    it("a location's scope missing: 403 insufficient_scope naming it; with the scope: 200", async () => {
      const res = await ask({ uri: '/admin/users', headers: bearer(read) });
      expect(res.status).toBe(403);
      expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope".*scope="admin"/);
      expect(identityOf(res)).toEqual({});
      expect((await ask({ uri: '/admin/users', headers: bearer(admin) })).status).toBe(200);
    });

    it('a public location: 200 without a token, no identity headers, no lookup', async () => {
      as.resetCounters();
      const res = await ask({ uri: '/public/index.html', headers: bearer(admin) });
      expect(res.status).toBe(200);
      expect(identityOf(res)).toEqual({});
      expect(as.introspectionRequests).toBe(0);
    });

    it('a HEAD decision request is decided like a GET (200 with identity headers; 401 without a token)', async () => {
      const head = (original: OriginalRequest) =>
        gateway === 'envoy'
          ? gateways.envoy(decision, { ...original, method: 'HEAD' })
          : gateway === 'nginxOriginal'
            ? gateways.nginxOriginal(decision, original, 'HEAD')
            : gateways.nginx(decision, original, 'HEAD');
      const ok = await head({ uri: '/orders', headers: bearer(read) });
      expect(ok.status).toBe(200);
      expect(ok.headers['x-auth-subject']).toBe('user-1');
      expect((await head({ uri: '/orders' })).status).toBe(401);
    });

    it('the original method does not change the decision (POST, DELETE)', async () => {
      expect((await ask({ method: 'POST', uri: '/orders', headers: bearer(read) })).status).toBe(200);
      expect((await ask({ method: 'DELETE', uri: '/admin/x', headers: bearer(read) })).status).toBe(403);
    });
  });
});
