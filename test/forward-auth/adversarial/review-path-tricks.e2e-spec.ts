// Review of issue 27: paths through the shipped nginx configuration that the decision matches to a weaker location
// than the one the service routes them to. Real nginx, real decision endpoint (Express and Fastify), real
// oidc-provider; the service is a real Express 5 app. Each test here failed at 076551d.
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import express from 'express';
import { ADAPTERS } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { startDecisionApp } from '../../support/forward-auth.js';
import { startForwardAuthNginx, type TestNginx } from '../../support/nginx.js';
import { describeWithNginx } from '../../support/nginx-required.js';
import { httpCall } from '../../support/raw-http.js';

for (const adapter of ADAPTERS) {
  describeWithNginx(`review 27: the service never gets a path the decision matched to a weaker location, over ${adapter}`, () => {
    let as: TestAuthorizationServer;
    let service: Server;
    let nginx: TestNginx;
    let app: INestApplication;
    const reached: string[] = [];

    beforeAll(async () => {
      as = await TestAuthorizationServer.start();
      // The service: an ordinary Express app with an admin page, as the docs' `{ prefix: '/admin/', scopes: ['admin'] }` protects it.
      const svc = express();
      svc.get('/admin/', (req, res) => {
        reached.push(`admin-handler ${req.originalUrl}`);
        res.json({ admin: true });
      });
      svc.use((req, res) => {
        reached.push(`other ${req.originalUrl}`);
        res.json({ other: true });
      });
      service = await new Promise<Server>((resolve) => {
        const s = svc.listen(0, '127.0.0.1', () => resolve(s));
      });
      // The locations of docs/forward-auth.md and the sample (sample/forward-auth/stack.ts).
      const started = await startDecisionApp(adapter, introspectionAt(as), {
        locations: [
          { prefix: '/public', public: true },
          { prefix: '/admin/', scopes: ['admin'] },
        ],
      });
      app = started.app;
      nginx = await startForwardAuthNginx({ decision: Number(new URL(started.url).port), upstream: (service.address() as { port: number }).port });
    });
    afterAll(async () => {
      await nginx?.stop();
      await app?.close();
      service?.closeAllConnections();
      await new Promise((resolve) => service?.close(resolve));
      await as?.stop();
    });
    beforeEach(() => {
      reached.length = 0;
    });

    // Observed at 076551d: 200 {"admin":true}. `/admin` does not start with the prefix `/admin/`, so the default
    // requirements (any valid token) decide it; Express (non-strict routing, the default) serves it from `/admin/`.
    // nginx itself redirects `/admin` to `/admin/` for a `location /admin/`; the decision should match it there too.
    it('GET /admin with a read-only token does not reach the service’s /admin/ handler (the /admin/ location requires admin)', async () => {
      const read = await as.issueToken({ scope: 'read' });
      const res = await httpCall(`${nginx.url}/admin`, { headers: { authorization: `Bearer ${read}` } });
      expect(reached).toEqual([]);
      expect(res.status).toBe(403);
    });

    // Observed at 076551d: 200, the service gets `/public/..;/admin/` without any token, and `/admin;x/` with a read
    // token. docs/forward-auth.md: "Anything a gateway or an upstream could read as another path is refused with 400";
    // servlet containers (Tomcat, Jetty, Spring) drop `;` path parameters before routing: `/public/..;/admin/` is
    // `/admin/` there, and so is `/admin;x/`.
    it.each([
      ['/public/..;/admin/', {}],
      ['/public/%2e%2e;/admin/', {}],
      ['/admin;jsessionid=x/', 'read'],
      ['/admin%3bx/', 'read'],
    ])('%s (a ;-parameter a servlet upstream strips) is refused with 400, never let through', async (path, who) => {
      const headers = who === 'read' ? { authorization: `Bearer ${await as.issueToken({ scope: 'read' })}` } : {};
      const res = await httpCall(`${nginx.url}${path}`, { headers });
      expect(reached).toEqual([]);
      expect(res.status).toBe(400);
    });
  });
}
