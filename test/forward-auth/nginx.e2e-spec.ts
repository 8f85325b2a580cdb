// A real nginx with the shipped configuration (sample/forward-auth/forward-auth.nginx.conf) in front of an echo
// service, asking the library's decision endpoint (ForwardAuthModule) over Express and Fastify, which introspects at a
// real oidc-provider: every request goes client → nginx → decision → (AS) → nginx → service over real HTTP.
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { IntrospectionService } from '../../lib/index.js';
import { ADAPTERS } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { EchoUpstream } from '../support/echo-upstream.js';
import { startDecisionApp } from '../support/forward-auth.js';
import { startForwardAuthNginx, type TestNginx } from '../support/nginx.js';
import { describeWithNginx } from '../support/nginx-required.js';
import { headerValues, httpCall } from '../support/raw-http.js';

const EDGE = 'https://edge.example';
const SERVICE = 'https://orders.internal';

for (const adapter of ADAPTERS) {
  describeWithNginx(`nginx in front of a service, deciding with ForwardAuthModule over ${adapter}`, () => {
    let as: TestAuthorizationServer;
    let upstream: EchoUpstream;
    let nginx: TestNginx;
    let app: INestApplication;
    let decisionConnections = 0;
    let jwks: ReturnType<typeof createRemoteJWKSet>;

    beforeAll(async () => {
      as = await TestAuthorizationServer.start();
      upstream = await EchoUpstream.start();
      const started = await startDecisionApp(
        adapter,
        {
          ...introspectionAt(as),
          // 5 s per attempt: on a loaded 2-core machine an AS answer slower than the default 2 s is retried, a second
          // AS call within the one single flight the 1,000-request test counts.
          resilience: { retryAfterSeconds: 17, attemptTimeoutMs: 5000 },
          phantom: { issuer: EDGE, audiences: [SERVICE] },
          phantomJwksPath: '.well-known/phantom-jwks.json',
        },
        {
          upstreamToken: {},
          locations: [
            { prefix: '/public', public: true },
            { prefix: '/admin/', scopes: ['admin'] },
          ],
        },
      );
      app = started.app;
      (app.getHttpServer() as import('node:http').Server).on('connection', () => decisionConnections++);
      jwks = createRemoteJWKSet(new URL(`${started.url}/.well-known/phantom-jwks.json`));
      nginx = await startForwardAuthNginx({ decision: Number(new URL(started.url).port), upstream: upstream.port });
    });
    afterAll(async () => {
      await nginx?.stop();
      await app?.close();
      await upstream?.close();
      await as?.stop();
    });
    beforeEach(() => upstream.clear());

    const get = (path: string, headers: Record<string, string> = {}) => httpCall(`${nginx.url}${path}`, { headers });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    it('a valid token: the service is reached with the identity headers and a phantom JWT that verifies against the published JWKS', async () => {
      const token = await as.issueToken({ scope: 'read', claims: { sub: 'user-1' } });
      const res = await get('/orders?page=2', bearer(token));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ upstream: true, method: 'GET', url: '/orders?page=2' });
      const received = upstream.requests[0];
      expect(received.headers).toMatchObject({ 'x-auth-subject': 'user-1', 'x-auth-scopes': 'read', 'x-auth-client-id': CLIENTS.app.clientId });
      expect(Number(received.headers['x-auth-expires'])).toBeGreaterThan(Date.now() / 1000);
      const [scheme, jwt] = headerValues(received.rawHeaders, 'authorization')[0].split(' ');
      expect(scheme).toBe('Bearer');
      const { payload } = await jwtVerify(jwt, jwks, { issuer: EDGE, audience: SERVICE });
      expect(payload).toMatchObject({ sub: 'user-1', scope: 'read' });
      expect(JSON.stringify(received.rawHeaders)).not.toContain(token); // the opaque token never reaches the service
    });

    it('no token: 401 with the Bearer challenge at the client, the service not reached', async () => {
      const res = await get('/orders');
      expect(res.status).toBe(401);
      expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([expect.stringMatching(/^Bearer\b/)]);
      expect(upstream.requests).toHaveLength(0);
    });

    it('a garbage token: 401 invalid_token at the client, the service not reached', async () => {
      const res = await get('/orders', bearer('not-a-token-the-as-ever-issued'));
      expect(res.status).toBe(401);
      expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([expect.stringContaining('error="invalid_token"')]);
      expect(upstream.requests).toHaveLength(0);
    });

    it("a location's scope missing: 403 insufficient_scope with its WWW-Authenticate at the client", async () => {
      const token = await as.issueToken({ scope: 'read' });
      const res = await get('/admin/users', bearer(token));
      expect(res.status).toBe(403);
      expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([expect.stringMatching(/error="insufficient_scope".*scope="admin"/)]);
      expect(upstream.requests).toHaveLength(0);
    });

    it('a public location lets a request through without a token, and without any identity', async () => {
      const res = await get('/public/status', { 'x-auth-subject': 'admin' });
      expect(res.status).toBe(200);
      expect(upstream.requests[0].headers['x-auth-subject']).toBeUndefined();
    });

    it('a client cannot pick a public location with its own X-Forwarded-Uri / X-Original-URI: it is decided on the URI it asked for', async () => {
      const token = await as.issueToken({ scope: 'read' });
      const res = await get('/admin/users', { ...bearer(token), 'x-forwarded-uri': '/public', 'x-original-uri': '/public', 'x-forwarded-method': 'GET' });
      expect(res.status).toBe(403);
      expect(upstream.requests).toHaveLength(0);
    });

    it("a client's own X-Auth-Subject and Authorization never reach the service: the decision's replace them", async () => {
      const token = await as.issueToken({ scope: 'read', claims: { sub: 'user-2' } });
      await get('/orders', { ...bearer(token), 'x-auth-subject': 'admin', 'x-auth-scopes': 'admin', 'x-auth-client-id': 'root' });
      const received = upstream.requests[0];
      expect(headerValues(received.rawHeaders, 'x-auth-subject')).toEqual(['user-2']);
      expect(headerValues(received.rawHeaders, 'x-auth-scopes')).toEqual(['read']);
      expect(headerValues(received.rawHeaders, 'x-auth-client-id')).toEqual([CLIENTS.app.clientId]);
      expect(headerValues(received.rawHeaders, 'authorization')).toHaveLength(1);
    });

    it('header injection: CR/LF in the encoded URI is refused (400) and a claim holding CR/LF never becomes a header line', async () => {
      const token = await as.issueToken({ scope: 'read', claims: { sub: 'user-3\r\nX-Auth-Scopes: admin' } });
      const injected = await get('/orders%0d%0aX-Auth-Subject:%20admin', bearer(token));
      expect(injected.status).toBe(400);
      expect(upstream.requests).toHaveLength(0);
      const res = await get('/orders', bearer(token));
      expect(res.status).toBe(200);
      const received = upstream.requests[0];
      expect(received.headers['x-auth-subject']).toBeUndefined();
      expect(headerValues(received.rawHeaders, 'x-auth-scopes')).toEqual(['read']);
    });

    it('oversized headers never reach the decision or the service: a 16 KB header is refused by nginx, a 6 KB token is invalid_request', async () => {
      const before = as.introspectionRequests;
      const huge = await get('/orders', { 'x-auth-subject': 'a'.repeat(16_384) });
      expect(huge.status).toBe(400);
      const long = await get('/orders', bearer('t'.repeat(6000)));
      expect(long.status).toBe(400);
      expect(headerValues(long.rawHeaders, 'www-authenticate')).toEqual([expect.stringContaining('error="invalid_request"')]);
      expect(upstream.requests).toHaveLength(0);
      expect(as.introspectionRequests).toBe(before);
    });

    it('revoked after IntrospectionService.evict(): 401 at the client and no phantom token for the service', async () => {
      const token = await as.issueToken({ scope: 'read' });
      expect((await get('/orders', bearer(token))).status).toBe(200);
      await as.revoke(token);
      await app.get(IntrospectionService).evict(token);
      const res = await get('/orders', bearer(token));
      expect(res.status).toBe(401);
      expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([expect.stringContaining('error="invalid_token"')]);
      expect(upstream.requests).toHaveLength(1);
    });

    it('the decision subrequests reuse kept-alive connections to the decision app', async () => {
      const token = await as.issueToken({ scope: 'read' });
      const before = decisionConnections;
      for (let i = 0; i < 20; i++) expect((await get('/orders', bearer(token))).status).toBe(200);
      expect(decisionConnections - before).toBeLessThanOrEqual(2);
    });

    it('1 new token × 1,000 concurrent requests through nginx: exactly 1 introspection call, 1,000 answers 200', async () => {
      const token = await as.issueToken({ scope: 'read' });
      const before = as.introspectionRequests;
      const agent = new Agent({ keepAlive: true, maxSockets: 128 });
      try {
        const results = await Promise.all(
          Array.from({ length: 1000 }, () => httpCall(`${nginx.url}/orders`, { headers: bearer(token), agent, timeoutMs: 60_000 })),
        );
        expect(results.filter((r) => r.status === 200)).toHaveLength(1000);
      } finally {
        agent.destroy();
      }
      expect(as.introspectionRequests - before).toBe(1);
      expect(upstream.requests).toHaveLength(1000);
    }, 90_000);

    // Last: the authorization server stays down.
    it('the authorization server down: 503 with the decision Retry-After at the client, the service not reached', async () => {
      const token = await as.issueToken({ scope: 'read' });
      await as.stop();
      const res = await get('/orders', bearer(token));
      expect(res.status).toBe(503);
      expect(headerValues(res.rawHeaders, 'retry-after')).toEqual(['17']);
      expect(upstream.requests).toHaveLength(0);
    });
  });
}
