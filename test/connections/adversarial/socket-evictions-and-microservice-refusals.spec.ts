// Adversarial review of the WebSocket and microservice authenticator: defences that held (round 17b; was attack17b-defences).
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { IntrospectionModule, IntrospectionService, Scopes } from '../../../lib/index.js';
import { createModuleApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { capturedLogs, sleep } from '../../support/engine.js';
import { freePort } from '../../support/free-port.js';
import { open, startWsApp } from '../../support/websocket.js';

/** Review 17b: defences that held (these pass). */
describe.each(['express', 'fastify'] as const)('evictions by claim and purge reach sockets whose cache entry is gone (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let ws: string;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, ws } = await startWsApp(adapter, {
      ...introspectionAt(as),
      cache: { ttlSeconds: 1 },
      websocket: { recheckIntervalSeconds: 30 },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('evictByClientId after the cached entry aged out: closed at once (4401), not at the 30 s re-check', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(ws, { authorization: `Bearer ${token}` });
    expect(await client.opened).toBe(true);
    await sleep(1500);
    await as.revoke(token);
    const started = Date.now();
    await app.get(IntrospectionService).evictByClientId(CLIENTS.app.clientId);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(1500);
  });

  it('purge(): a revoked socket is closed at once', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(ws, { authorization: `Bearer ${token}` });
    expect(await client.opened).toBe(true);
    await as.revoke(token);
    const started = Date.now();
    await app.get(IntrospectionService).purge();
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(1500);
  });

  it('a burst of 40 messages right on open with a valid token: either 1008 (more than 16 held) or all handled, in order', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(ws, { authorization: `Bearer ${token}` });
    await client.opened;
    for (let i = 0; i < 40; i++) client.ws.send(JSON.stringify({ event: 'post', data: `burst-${i}` }));
    const outcome = await Promise.race([
      client.closed.then((c) => c.code),
      (async () => {
        const seen: string[] = [];
        for (let i = 0; i < 40; i++) seen.push(await client.next('posted', 3000));
        return seen;
      })(),
    ]);
    if (typeof outcome === 'number') expect(outcome).toBe(1008);
    else expect(outcome).toEqual(Array.from({ length: 40 }, (_, i) => `burst-${i}`));
    client.ws.close();
  });
});

@Controller()
class Handlers {
  @MessagePattern('secret')
  @Scopes('read')
  secret() {
    return 'ok';
  }
}

describe('microservice refusals (real TCP transport)', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let client: ClientProxy;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await createModuleApp('express', {
      imports: [
        IntrospectionModule.forRoot({
          ...introspectionAt(as),
          verifyOnStartup: false,
          microservice: { token: { in: 'payload', field: 'accessToken' } },
        }),
      ],
      controllers: [Handlers],
    });
    const port = await freePort();
    await app.init();
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
  });
  afterAll(async () => {
    client?.close();
    await app?.close();
    await as?.stop();
  });

  it.each([
    ['a number', 1234567890123],
    ['an array of tokens', ['a', 'b']],
    ['Bearer with two tokens', 'Bearer abcdefghijkl abcdefghijkl'],
    ['a DPoP scheme', 'DPoP abcdefghijkl'],
    ['a 1 MB string', 'a'.repeat(1_000_000)],
    ['a prototype-polluting object', JSON.parse('{"__proto__":{"x":1}}')],
  ])('%s as the token: a plain { status, error, message } error, no stack, no token, no AS call', async (_what, accessToken) => {
    as.resetCounters();
    const from = capturedLogs.length;
    const error = await firstValueFrom(client.send('secret', { accessToken })).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toBeDefined();
    expect(Object.keys(error).sort()).toEqual(['error', 'message', 'status']);
    expect([400, 401]).toContain(error.status);
    expect(JSON.stringify(error)).not.toMatch(/abcdefghijkl|aaaaaaaaaa|at Object|\.ts:/);
    expect(as.introspectionRequests).toBe(0);
    expect(capturedLogs.slice(from).join('\n')).not.toMatch(/abcdefghijkl|aaaaaaaaaa/);
  });

  it('a revoked token is refused on its next message (no stale acceptance)', async () => {
    const accessToken = await as.issueToken({ scope: 'read' });
    expect(await firstValueFrom(client.send('secret', { accessToken }))).toBe('ok');
    await as.revoke(accessToken);
    await app.get(IntrospectionService).evict(accessToken);
    const error = await firstValueFrom(client.send('secret', { accessToken })).then(
      () => undefined,
      (e) => e,
    );
    expect(error).toMatchObject({ status: 401, error: 'invalid_token' });
  });
});
