// Review of issue 27: the shipped nginx configuration (sample/forward-auth/forward-auth.nginx.conf) in front of the
// real decision endpoint (Express and Fastify) and a real oidc-provider. Each test here failed at 076551d.
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { EchoUpstream } from '../../support/echo-upstream.js';
import { startDecisionApp } from '../../support/forward-auth.js';
import { startForwardAuthNginx, type TestNginx } from '../../support/nginx.js';
import { describeWithNginx } from '../../support/nginx-required.js';
import { headerValues, httpCall } from '../../support/raw-http.js';

for (const adapter of ADAPTERS) {
  describeWithNginx(`review 27: the shipped nginx configuration in front of ForwardAuthModule over ${adapter}`, () => {
    let as: TestAuthorizationServer;
    let upstream: EchoUpstream;
    let nginx: TestNginx;
    let app: INestApplication;

    beforeAll(async () => {
      as = await TestAuthorizationServer.start();
      upstream = await EchoUpstream.start();
      const started = await startDecisionApp(adapter, introspectionAt(as), { locations: [{ prefix: '/admin/', scopes: ['admin'] }] });
      app = started.app;
      nginx = await startForwardAuthNginx({ decision: Number(new URL(started.url).port), upstream: upstream.port });
    });
    afterAll(async () => {
      await nginx?.stop();
      await app?.close();
      await upstream?.close();
      await as?.stop();
    });
    beforeEach(() => upstream.clear());

    // Observed at 076551d: 500 {"error":"server_error"}; nginx logs "auth request unexpected status: 431". nginx accepts
    // up to 4 × 8 KB of request headers (large_client_header_buffers), the decision's Node server 16 KB
    // (http.maxHeaderSize): the auth subrequest copies every client header, Node answers 431, the map turns it into 500.
    it('client headers that nginx accepts but the decision server refuses (3 × 6 KB) are a 4xx at the client, never a 500', async () => {
      const token = await as.issueToken({ scope: 'read' });
      const pad = 'a'.repeat(6000);
      const res = await httpCall(`${nginx.url}/orders`, { headers: { authorization: `Bearer ${token}`, 'x-pad-1': pad, 'x-pad-2': pad, 'x-pad-3': pad } });
      expect(upstream.requests).toHaveLength(0);
      expect(res.status).not.toBe(500);
      expect([400, 431]).toContain(res.status);
    });

    // Observed at 076551d: X-Auth-Roles: admin and X-Auth-Tenant: acme reach the service. The configuration's comment
    // ("a client's own X-Auth-* never passes") and docs/forward-auth.md ("The gateway must also remove whatever
    // X-Auth-* the client sent (each configuration below does)") promise otherwise; only the five default names are
    // overwritten.
    it("a client's own X-Auth-* headers of any name never reach the service (the documented promise)", async () => {
      const token = await as.issueToken({ scope: 'read', claims: { sub: 'user-1' } });
      const res = await httpCall(`${nginx.url}/orders`, {
        headers: { authorization: `Bearer ${token}`, 'x-auth-roles': 'admin', 'x-auth-tenant': 'acme', 'x-auth-email': 'root@example.com' },
      });
      expect(res.status).toBe(200);
      const received = upstream.requests[0];
      expect(headerValues(received.rawHeaders, 'x-auth-subject')).toEqual(['user-1']);
      expect(
        Object.keys(received.headers).filter((name) => name.startsWith('x-auth-') && !/^x-auth-(subject|scopes|client-id|username|expires)$/.test(name)),
      ).toEqual([]);
    });
  });
}
