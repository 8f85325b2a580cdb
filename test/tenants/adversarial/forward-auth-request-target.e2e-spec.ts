// Round 2: ForwardAuthModule with tenants (pathPrefix + jwtIssuer). The decision matches its locations on the forwarded
// path without query and fragment (and the path of an absolute-form URI), but the tenant resolver reads the forwarded
// URI as it came: a `#` (nginx passes it on in $request_uri and to the service) or an absolute-form URI hides the
// prefix, and the token's own `iss` then picks the tenant.
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { EchoUpstream } from '../../support/echo-upstream.js';
import { gateways, rawRequest, startDecisionApp } from '../../support/forward-auth.js';
import { startForwardAuthNginx, type TestNginx } from '../../support/nginx.js';
import { describeWithNginx } from '../../support/nginx-required.js';

const JWT_AUDIENCE = 'urn:jwt:orders';

for (const adapter of ADAPTERS) {
  describeWithNginx(`tenants behind real nginx and ForwardAuthModule over ${adapter}`, () => {
    let asA: TestAuthorizationServer;
    let asB: TestAuthorizationServer;
    let upstream: EchoUpstream;
    let nginx: TestNginx;
    let app: INestApplication;
    let decision: string;

    beforeAll(async () => {
      asA = await TestAuthorizationServer.start();
      asB = await TestAuthorizationServer.start();
      await asB.rotateSigningKey();
      upstream = await EchoUpstream.start();
      const as = (server: TestAuthorizationServer) => ({ issuer: server.issuer, ...CLIENTS.basic, audience: JWT_AUDIENCE, jwt: { mode: 'local' as const } });
      const started = await startDecisionApp(
        adapter,
        { tenants: { a: as(asA), b: as(asB) }, tenantResolver: { pathPrefix: { '/a/': 'a', '/b/': 'b' }, jwtIssuer: true }, allowInsecureRequests: true },
        { originalRequest: 'x-forwarded' },
      );
      app = started.app;
      decision = started.decision;
      nginx = await startForwardAuthNginx({ decision: Number(new URL(started.url).port), upstream: upstream.port });
    });
    afterAll(async () => {
      await nginx?.stop();
      await app?.close();
      await upstream?.close();
      await Promise.all([asA?.stop(), asB?.stop()]);
    });
    beforeEach(() => upstream.clear());

    const viaNginx = (path: string, token: string) => rawRequest(nginx.url, 'GET', path, { host: 'api.example.com', authorization: `Bearer ${token}` });

    it("tenant A's JWT on tenant B's path is refused by the decision and never reaches the service (sanity)", async () => {
      const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
      expect((await viaNginx('/b', jwt)).status).toBe(401);
      expect(upstream.requests).toHaveLength(0);
    });

    it("tenant A's JWT never reaches the service on tenant B's path through a fragment (GET /b#x through nginx)", async () => {
      const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
      const res = await viaNginx('/b#x', jwt);
      // What reached the service: nginx passes '/b#x' on, which Express and Fastify route to '/b' (tenant B's handler).
      expect([res.status, upstream.requests.map((r) => r.url)]).toEqual([401, []]);
    });

    it("the decision never admits tenant A's JWT for an absolute-form X-Forwarded-Uri on tenant B's path", async () => {
      const jwt = await asA.issueToken({ scope: 'read', resource: JWT_AUDIENCE });
      const res = await gateways.traefik(decision, { uri: 'https://api.example.com/b/orders', headers: { authorization: `Bearer ${jwt}` } });
      expect(res.status).toBe(401);
    });
  });
}
