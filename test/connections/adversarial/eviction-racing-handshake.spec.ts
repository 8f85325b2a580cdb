// Adversarial review of the WebSocket authenticator (round 17b; was attack17b-ws-eviction-race).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { createServer, request, type Server } from 'node:http';
import { ConnectionAuthenticator, IntrospectionService } from '../../../lib/index.js';
import { CLIENTS, TestAuthorizationServer } from '../../support/authorization-server.js';
import { sleep } from '../../support/engine.js';
import { open, startWsApp } from '../../support/websocket.js';

/** A real proxy that forwards at once and holds the authorization server's ANSWER for `holdMs` (a slow network back). */
async function answerDelayingProxy(target: string, holdMs: () => number): Promise<{ url: (path: string) => string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const upstream = request(new URL(req.url!, target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c) => body.push(c));
        answer.on('end', () => setTimeout(() => res.writeHead(answer.statusCode!, answer.headers).end(Buffer.concat(body)), holdMs()));
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * ATTACK (review of issue 17 part 5): an eviction that lands while the handshake's introspection is in flight.
 * The AS answered "active" just before the token was revoked; the operator then revokes and calls evict(token)
 * while that answer travels back. The write ticket keeps it out of the cache (good), but the handshake still
 * accepts it and only starts watching AFTER the eviction was announced: the eviction is missed and the socket
 * lives on until the next periodic re-check (`recheckIntervalSeconds`, default 60 s; 30 s here). README: "at once
 * on eviction".
 */
describe.each(['express', 'fastify'] as const)('an eviction racing the WebSocket handshake (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let proxy: Awaited<ReturnType<typeof answerDelayingProxy>>;
  let hold = 0;
  let app: INestApplication;
  let ws: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    proxy = await answerDelayingProxy(as.issuer, () => hold);
    ({ app, ws } = await startWsApp(adapter, {
      introspectionEndpoint: proxy.url('/token/introspection'),
      allowInsecureRequests: true,
      ...CLIENTS.basic,
      cache: { ttlSeconds: 60 },
      websocket: { recheckIntervalSeconds: 30 },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await proxy?.close();
    await as?.stop();
  });

  it('a token revoked + evicted during its handshake check is closed at once (4401), not at the periodic re-check', async () => {
    const token = await as.issueToken({ scope: 'read' });
    hold = 800;
    const client = open(ws, { authorization: `Bearer ${token}` });
    await client.opened;
    await sleep(300); // the AS has answered "active"; the answer is on its way back
    hold = 0;
    await as.revoke(token);
    await app.get(IntrospectionService).evict(token);
    const outcome = await Promise.race([client.closed.then((c) => c.code), sleep(3000).then(() => 'still open after 3 s' as const)]);
    const watched = app.get(ConnectionAuthenticator).watchedConnections;
    client.ws.close();
    expect({ outcome, watched }).toEqual({ outcome: 4401, watched: 0 });
  });

  it('the same revoked connection cannot use protected handlers (each message re-validates)', async () => {
    const token = await as.issueToken({ scope: 'read' });
    hold = 800;
    const client = open(ws, { authorization: `Bearer ${token}` });
    await client.opened;
    await sleep(300);
    hold = 0;
    await as.revoke(token);
    await app.get(IntrospectionService).evict(token);
    await sleep(700);
    client.ws.send(JSON.stringify({ event: 'post', data: 'after revocation' }));
    expect(await client.next('posted', 1500)).toBeUndefined();
    // and the per-message check closes it (4401)
    expect((await client.closed).code).toBe(4401);
  });
});
