import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import {
  authenticateWebSockets,
  ConnectionAuthenticator,
  Introspected,
  IntrospectionModule,
  IntrospectionService,
  ProtectedResource,
  Public,
  RequireAuthentication,
  RequireClaims,
  Roles,
  Scopes,
} from '../../lib/index.js';
import { createModuleApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { sleep } from '../support/engine.js';
import { open as openClient, type Client } from '../support/websocket.js';

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

  @SubscribeMessage('audit')
  @Roles('auditor')
  audit() {
    return { event: 'audit', data: 'log' };
  }

  @SubscribeMessage('tenant')
  @RequireClaims({ tenant: 'acme' })
  tenant() {
    return { event: 'tenant', data: 'acme' };
  }

  // Both a scope and a step-up: a token lacking both hears about the step-up (401) first.
  @SubscribeMessage('vault')
  @Scopes('admin')
  @RequireAuthentication({ acrValues: ['gold'], maxAge: 300 })
  vault() {
    return { event: 'vault', data: 'open' };
  }
}

/** Connection requirements declared on the gateway class, applied at the handshake with `requirementsOf`. */
@WebSocketGateway({ path: '/members' })
@Roles('member')
@RequireAuthentication({ maxAge: 300 })
class MembersGateway {
  @SubscribeMessage('hello')
  hello(@Introspected('client_id') clientId: string) {
    return { event: 'hello', data: clientId };
  }

  @SubscribeMessage('billing')
  @RequireClaims({ department: 'billing' })
  billing() {
    return { event: 'billing', data: 'ok' };
  }
}

/** The shared ws client; `next(event)` waits for its message as long as the test runs (no 3 s limit). */
const open = (url: string, headers: Record<string, string> = {}): Client => openClient(url, headers, {}, Infinity);

describe('WebSocket gateways (@nestjs/platform-ws) authenticated at the handshake, real ws client, real authorization server', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let wsUrl: string;
  let gateway: ChatGateway;
  let service: IntrospectionService;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await createModuleApp('express', {
      imports: [
        IntrospectionModule.forRoot({
          ...introspectionAt(as),
          cache: { ttlSeconds: 1 },
          websocket: { recheckIntervalSeconds: 1 },
          resilience: { circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 5000 } },
        }),
      ],
      providers: [ChatGateway],
    });
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
    const junk = Array.from({ length: 60 }, (_, i) =>
      open(wsUrl, i % 3 === 0 ? {} : i % 3 === 1 ? { authorization: 'Bearer %%%' } : { authorization: `Bearer junk-${i}-abcdefgh` }),
    );
    const codes = await Promise.all(junk.map((c) => c.closed.then((x) => x.code)));
    expect(codes.every((code) => code === 4401 || code === 4400)).toBe(true);
    expect(service.circuitState).toBe('closed');
    const client = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read' })}` });
    await client.opened;
    client.ws.send(JSON.stringify({ event: 'whoami' }));
    expect(await client.next('whoami')).toBe(CLIENTS.app.clientId);
    client.ws.close();
  });

  it('@Roles / @RequireClaims on message handlers: 403 insufficient_scope exception events, then passes with the right token', async () => {
    const plain = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { roles: ['reader'], tenant: 'other' } })}` });
    await plain.opened;
    plain.ws.send(JSON.stringify({ event: 'audit' }));
    expect(await plain.next('exception')).toEqual({
      status: 403,
      error: 'insufficient_scope',
      message: 'The access token lacks a required role. Required: auditor.',
    });
    plain.ws.send(JSON.stringify({ event: 'tenant' }));
    expect(await plain.next('exception')).toMatchObject({ status: 403, error: 'insufficient_scope', message: expect.stringMatching(/claim 'tenant'/) });
    plain.ws.send(JSON.stringify({ event: 'whoami' })); // the connection stays open
    expect(await plain.next('whoami')).toBe(CLIENTS.app.clientId);
    const good = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { roles: ['auditor'], tenant: 'acme' } })}` });
    await good.opened;
    good.ws.send(JSON.stringify({ event: 'audit' }));
    expect(await good.next('audit')).toBe('log');
    good.ws.send(JSON.stringify({ event: 'tenant' }));
    expect(await good.next('tenant')).toBe('acme');
    plain.ws.close();
    good.ws.close();
  });

  it('@RequireAuthentication on a message handler: 401 insufficient_user_authentication with acrValues / maxAge, before the missing scope', async () => {
    const now = Math.floor(Date.now() / 1000);
    const weak = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { acr: 'silver', auth_time: now } })}` });
    await weak.opened;
    weak.ws.send(JSON.stringify({ event: 'vault' }));
    expect(await weak.next('exception')).toEqual({
      status: 401,
      error: 'insufficient_user_authentication',
      message: 'A different authentication level is required.',
      acrValues: 'gold',
      maxAge: 300,
    });
    const stepped = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { acr: 'gold', auth_time: now } })}` });
    await stepped.opened;
    stepped.ws.send(JSON.stringify({ event: 'vault' }));
    expect(await stepped.next('exception')).toMatchObject({ status: 403, error: 'insufficient_scope' }); // now only the scope is missing
    const admin = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read admin', claims: { acr: 'gold', auth_time: now } })}` });
    await admin.opened;
    admin.ws.send(JSON.stringify({ event: 'vault' }));
    expect(await admin.next('vault')).toBe('open');
    weak.ws.close();
    stepped.ws.close();
    admin.ws.close();
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

describe('Gateway-level @Roles / @RequireAuthentication applied at the handshake (requirementsOf), real ws client', () => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let wsUrl: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    app = await createModuleApp('express', {
      imports: [
        IntrospectionModule.forRoot({
          ...introspectionAt(as),
          cache: { ttlSeconds: 60 },
        }),
      ],
      providers: [MembersGateway],
    });
    app.useWebSocketAdapter(authenticateWebSockets(new WsAdapter(app), app, { requirementsOf: MembersGateway }));
    await app.listen(0, '127.0.0.1');
    wsUrl = (await app.getUrl()).replace('http://[::1]', 'http://127.0.0.1').replace('http', 'ws') + '/members';
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);

  it('no role: closed with 4403 and the reason at the handshake', async () => {
    const closed = await open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { roles: ['guest'], auth_time: now() } })}` })
      .closed;
    expect(closed).toMatchObject({ code: 4403, reason: 'The access token lacks a required role. Required: member.' });
  });

  it('authentication too old (or unknown): closed with 4401, even without the role (step-up comes first)', async () => {
    for (const claims of [{ roles: ['member'], auth_time: now() - 3600 }, { roles: ['member'] }, { roles: [] }]) {
      const closed = await open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims })}` }).closed;
      expect({ claims, code: closed.code }).toEqual({ claims, code: 4401 });
    }
  });

  it('role and recent authentication: connected; the handler-level @RequireClaims still applies per message', async () => {
    const client = open(wsUrl, { authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { roles: ['member'], auth_time: now() } })}` });
    expect(await client.opened).toBe(true);
    client.ws.send(JSON.stringify({ event: 'hello' }));
    expect(await client.next('hello')).toBe(CLIENTS.app.clientId);
    client.ws.send(JSON.stringify({ event: 'billing' }));
    expect(await client.next('exception')).toMatchObject({ status: 403, error: 'insufficient_scope' });
    client.ws.close();
    const billing = open(wsUrl, {
      authorization: `Bearer ${await as.issueToken({ scope: 'read', claims: { roles: ['member'], auth_time: now(), department: 'billing' } })}`,
    });
    await billing.opened;
    billing.ws.send(JSON.stringify({ event: 'billing' }));
    expect(await billing.next('billing')).toBe('ok');
    billing.ws.close();
  });

  it('an unknown @ProtectedResource on the gateway fails at start-up, not at the first connection', async () => {
    @WebSocketGateway({ path: '/x' })
    @ProtectedResource('https://api.example.com/unknown')
    class Misconfigured {}
    expect(() => authenticateWebSockets(new WsAdapter(app), app, { requirementsOf: Misconfigured })).toThrow(
      /names no configured resource|has no `resourceMetadata`/,
    );
  });
});
