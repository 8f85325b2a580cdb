import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, UseGuards, type INestApplication } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { ModulesContainer } from '@nestjs/core';
import { Public, TokenGuard } from '../../lib/index.js';
import { unguardedMessageHandlers } from '../../lib/connections/message-handler.audit.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { resolveOptionsForTests } from '../support/token-sources.js';
import { open, startWsApp } from '../support/websocket.js';

/** `websocket.allowedOrigins` (cross-site WebSocket hijacking), over both adapters, with a real ws client. */
describe.each(['express', 'fastify'] as const)('WebSocket origins (%s)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let ws: string;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, ws } = await startWsApp(adapter, {
      ...introspectionAt(as),
      websocket: { allowedOrigins: ['https://app.example'] },
    }));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('a listed origin and a non-browser client (no Origin) get in; other origins and Origin: null never reach the AS', async () => {
    const token = await as.issueToken({ scope: 'read' });
    const listed = open(ws, { authorization: `Bearer ${token}`, origin: 'https://app.example' });
    expect(await listed.opened).toBe(true);
    listed.ws.send(JSON.stringify({ event: 'whoami' }));
    expect(await listed.next('whoami')).toBe(CLIENTS.app.clientId);
    listed.ws.close();
    const noOrigin = open(ws, { authorization: `Bearer ${token}` });
    expect(await noOrigin.opened).toBe(true);
    noOrigin.ws.close();
    as.resetCounters();
    for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example', 'null']) {
      const other = open(ws, { authorization: `Bearer ${token}-${origin.length}`, origin });
      expect(await other.opened).toBe(false);
    }
    expect(as.introspectionRequests).toBe(0);
  });
});

describe('WebSocket origins and hybrid apps at start-up', () => {
  const base = { introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's', audience: 'api' };

  it('allowedOrigins must list bare origins', () => {
    for (const bad of [[], ['*'], ['https://app.example/path'], ['app.example'], ['https://*.example'], ['ftp://app.example']]) {
      expect(() => resolveOptionsForTests({ ...base, websocket: { allowedOrigins: bad } })).toThrow(/allowedOrigins/);
    }
    const resolved = resolveOptionsForTests({ ...base, websocket: { allowedOrigins: ['https://App.Example:443/', 'http://localhost:3000'] } });
    expect(resolved.websocket.allowedOrigins).toEqual(['https://app.example', 'http://localhost:3000']);
  });

  it('a cookie source without allowedOrigins: same origin only, with a warning; no cookie: no check', () => {
    const cookie = resolveOptionsForTests({ ...base, websocket: { tokenSources: [{ in: 'cookie', name: 'access_token' }] } });
    expect(cookie.websocket.allowedOrigins).toBe('same-origin');
    expect(cookie.warnings.join('\n')).toMatch(/websocket\.allowedOrigins/);
    expect(resolveOptionsForTests(base).websocket.allowedOrigins).toBeUndefined();
  });

  it('the hybrid-app audit names unguarded message handlers only', () => {
    @Controller()
    class Open {
      @MessagePattern('wipe') wipe() {}
      @MessagePattern('ping') @Public() ping() {}
    }
    @Controller()
    @UseGuards(TokenGuard)
    class Guarded {
      @MessagePattern('secret') secret() {}
    }
    @Controller()
    class GuardedMethod {
      @MessagePattern({ cmd: 'one' }) @UseGuards(TokenGuard) one() {}
    }
    const modules = new ModulesContainer();
    modules.set('m', { controllers: new Map([Open, Guarded, GuardedMethod].map((type) => [type, { metatype: type }])) } as never);
    expect(unguardedMessageHandlers(modules)).toEqual(['Open.wipe (wipe)']);
  });
});
