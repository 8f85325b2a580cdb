// Review of issue 27: the library's fair queue (new-token lookups served round-robin per client address, a flooding
// client displaced first) behind the shipped nginx configuration. The decision reads the client's address from the
// last X-Forwarded-For entry, but the configuration neither sets nor clears X-Forwarded-For in the decision
// subrequest: every client is nginx's own address (or whatever address it writes itself), so one client's junk-token
// flood fills the queue for everybody. Real nginx, real decision endpoint, real oidc-provider behind a delaying proxy
// (a slow AS), clients on distinct loopback addresses. Failed at 076551d.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Agent } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { ChaosProxy } from '../../support/chaos-proxy.js';
import { EchoUpstream } from '../../support/echo-upstream.js';
import { startDecisionApp } from '../../support/forward-auth.js';
import { startForwardAuthNginx, type TestNginx } from '../../support/nginx.js';
import { describeWithNginx } from '../../support/nginx-required.js';
import { httpCall } from '../../support/raw-http.js';

for (const adapter of ADAPTERS) {
  describeWithNginx(`review 27: one client's junk-token flood through nginx does not shut out another client, over ${adapter}`, () => {
    let as: TestAuthorizationServer;
    let chaos: ChaosProxy;
    let upstream: EchoUpstream;
    let nginx: TestNginx;
    let app: INestApplication;

    beforeAll(async () => {
      as = await TestAuthorizationServer.start();
      chaos = await ChaosProxy.start(new URL(as.introspectionEndpoint).origin);
      chaos.delayMs = 400;
      await chaos.setMode('delay');
      upstream = await EchoUpstream.start();
      const started = await startDecisionApp(
        adapter,
        {
          ...introspectionAt(as),
          introspectionEndpoint: chaos.url(new URL(as.introspectionEndpoint).pathname),
          resilience: { maxConcurrentCalls: 2, reservedCallsForKnownTokens: 0, maxQueuedCalls: 4, deadlineMs: 8000, attemptTimeoutMs: 5000 },
        },
        {},
      );
      app = started.app;
      nginx = await startForwardAuthNginx({ decision: Number(new URL(started.url).port), upstream: upstream.port });
    });
    afterAll(async () => {
      await nginx?.stop();
      await app?.close();
      await upstream?.close();
      await chaos?.stop();
      await as?.stop();
    });

    // Observed at 076551d: the legitimate client gets 503 (Retry-After) while the flood runs; with
    // `proxy_set_header X-Forwarded-For $remote_addr;` added to `location = /_forward_auth` it gets 200.
    it('a new valid token from 127.0.0.2 is decided (200) while 127.0.0.3 floods junk tokens (the fair queue sees two clients)', async () => {
      const token = await as.issueToken({ scope: 'read' });
      const attacker = new Agent({ keepAlive: true, maxSockets: 64, localAddress: '127.0.0.3' });
      const user = new Agent({ keepAlive: false, localAddress: '127.0.0.2' });
      try {
        const flood = Array.from({ length: 40 }, (_, i) =>
          httpCall(`${nginx.url}/orders`, { headers: { authorization: `Bearer junk-${i}-${'x'.repeat(20)}` }, agent: attacker, timeoutMs: 30_000 }).catch(
            () => undefined,
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, 150)); // the queue is full of the flood's lookups
        const res = await httpCall(`${nginx.url}/orders`, { headers: { authorization: `Bearer ${token}` }, agent: user, timeoutMs: 30_000 });
        await Promise.all(flood);
        expect(res.status).toBe(200);
      } finally {
        attacker.destroy();
        user.destroy();
      }
    }, 60_000);
  });
}
