import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Module, type INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import WebSocket from 'ws';
import { authenticateWebSockets, ConnectionAuthenticator, Introspected, IntrospectionModule, IntrospectionService, Public, Scopes } from '../lib/index.js';
import { CLIENTS, TestAuthorizationServer } from './support/authorization-server.js';
import { quietLogger, sleep } from './support/engine.js';

@WebSocketGateway({ path: '/ws' })
class ChatGateway implements OnGatewayConnection {
  connections = 0;
  handleConnection(): void {
    this.connections++;
  }

  @SubscribeMessage('whoami')
  whoami(@Introspected('client_id') clientId: string) {
    return { event: 'whoami', data: clientId };
  }

  @SubscribeMessage('admin')
  @Scopes('admin')
  admin() {
    return { event: 'admin', data: 'secret' };
  }

  @SubscribeMessage('ping')
  @Public()
  ping() {
    return { event: 'pong', data: true };
  }
}

interface Client {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string; at: number }>;
  opened: Promise<boolean>;
  next(event: string): Promise<any>;
}

function open(url: string, headers: Record<string, string> = {}): Client {
  const ws = new WebSocket(url, { headers });
  const inbox: any[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((wake) => wake());
  });
  ws.on('error', () => undefined);
  return {
    ws,
    opened: new Promise((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    }),
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() }))),
    async next(event) {
      for (;;) {
        const i = inbox.findIndex((m) => m.event === event);
        if (i >= 0) return inbox.splice(i, 1)[0].data;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

describe('WebSocket gateways (@nestjs/platform-ws) authenticated at the handshake, real ws client, real authorization server', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let wsUrl: string;
  let gateway: ChatGateway;
  let service: IntrospectionService;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    @Module({
      imports: [
        IntrospectionModule.forRoot({
          introspectionEndpoint: as.introspectionEndpoint,
          allowInsecureRequests: true,
          ...CLIENTS.basic,
          cache: { ttlSeconds: 1 },
          websocket: { recheckIntervalSeconds: 1 },
          resilience: { circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 5000 } },
        }),
      ],
      providers: [ChatGateway],
    })
    class AppModule {}
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).setLogger(quietLogger).compile();
    app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: quietLogger });
    app.useWebSocketAdapter(authenticateWebSockets(new WsAdapter(app), app));
    await app.listen(0, '127.0.0.1');
    wsUrl = (await app.getUrl()).replace('http://[::1]', 'http://127.0.0.1').replace('http', 'ws') + '/ws';
    gateway = app.get(ChatGateway);
    service = app.get(IntrospectionService);
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('no token: closed with 4401 and a reason; the gateway never sees the connection', async () => {
    const before = gateway.connections;
    const client = open(wsUrl);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/access token is required/);
    expect(gateway.connections).toBe(before);
  });

  it('a forged token: 4401; malformed credentials: 4400 without calling the AS', async () => {
    expect((await open(wsUrl, { authorization: 'Bearer forged-token-123456789' }).closed).code).toBe(4401);
    as.resetCounters();
    expect((await open(wsUrl, { authorization: 'Bearer a b' }).closed).code).toBe(4400);
    expect(as.introspectionRequests).toBe(0);
  });

  it('a valid token: messages sent right after the handshake are held, then handled with @Introspected()', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(wsUrl, { authorization: `Bearer ${token}` });
    expect(await client.opened).toBe(true);
    client.ws.send(JSON.stringify({ event: 'whoami' }));
    client.ws.send(JSON.stringify({ event: 'ping' }));
    expect(await client.next('whoami')).toBe(CLIENTS.app.clientId);
    expect(await client.next('pong')).toBe(true);
    client.ws.close();
  });

  it('@Scopes() on a message handler: an exception event { status: 403, error: insufficient_scope }; the connection stays open', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(wsUrl, { authorization: `Bearer ${token}` });
    await client.opened;
    client.ws.send(JSON.stringify({ event: 'admin' }));
    expect(await client.next('exception')).toMatchObject({ status: 403, error: 'insufficient_scope' });
    client.ws.send(JSON.stringify({ event: 'whoami' }));
    expect(await client.next('whoami')).toBe(CLIENTS.app.clientId);
    const admin = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read admin' })}` });
    await admin.opened;
    admin.ws.send(JSON.stringify({ event: 'admin' }));
    expect(await admin.next('admin')).toBe('secret');
    client.ws.close();
    admin.ws.close();
  });

  it('revoked and evicted while connected: closed with 4401 at once (no wait for the re-check)', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(wsUrl, { authorization: `Bearer ${token}` });
    await client.opened;
    await as.revoke(token);
    const started = Date.now();
    await service.evict(token);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(900);
  });

  it('revoked at the AS without an eviction: closed within cache TTL + re-check interval (1 s + 1 s)', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const client = open(wsUrl, { authorization: `Bearer ${token}` });
    await client.opened;
    const started = Date.now();
    await as.revoke(token);
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.at - started).toBeLessThan(3500);
  });

  it('a token that expires while connected: closed with 4401 at its exp', async () => {
    const token = await as.issueToken({ scope: 'read', ttlSeconds: 2 });
    const client = open(wsUrl, { authorization: `Bearer ${token}` });
    await client.opened;
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(app.get(ConnectionAuthenticator).watchedConnections).toBe(0);
  });

  it('a flood of unauthenticated connects: all closed, the breaker stays closed, a valid user still gets in', async () => {
    const junk = Array.from({ length: 60 }, (_, i) => open(wsUrl, i % 3 === 0 ? {} : i % 3 === 1 ? { authorization: 'Bearer %%%' } : { authorization: `Bearer junk-${i}-abcdefgh` }));
    const codes = await Promise.all(junk.map((c) => c.closed.then((x) => x.code)));
    expect(codes.every((code) => code === 4401 || code === 4400)).toBe(true);
    expect(service.circuitState).toBe('closed');
    const client = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read' })}` });
    await client.opened;
    client.ws.send(JSON.stringify({ event: 'whoami' }));
    expect(await client.next('whoami')).toBe(CLIENTS.app.clientId);
    client.ws.close();
  });

  it('the authorization server down at the handshake: 1013 (try again later), not 4401', async () => {
    const token = await as.issueToken({ scope: 'read' });
    await as.stop();
    try {
      const closed = await open(wsUrl, { authorization: `Bearer ${token}` }).closed;
      expect(closed.code).toBe(1013);
    } finally {
      await as.restart();
      await sleep(50);
    }
  });
});
