import 'reflect-metadata';
import { Controller, Get, type DynamicModule, type INestApplication } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import WebSocket from 'ws';
import { authenticateWebSockets, Introspected, IntrospectionModule, Public, Scopes, type IntrospectionModuleOptions } from '../../lib/index.js';
import { createModuleApp } from './app.js';

/** Helpers shared by the WebSocket suites (connections/adversarial/, from review 17b, and connections/websocket-origins.e2e-spec.ts). */
@WebSocketGateway({ path: '/ws' })
export class AttackGateway {
  connections = 0;
  sideEffects: string[] = [];
  handleConnection(): void {
    this.connections++;
  }

  @SubscribeMessage('whoami')
  whoami(@Introspected('client_id') clientId: string) {
    return { event: 'whoami', data: clientId };
  }

  /** A protected handler with a side effect (e.g. posts to a chat room). */
  @SubscribeMessage('post')
  @Scopes('read')
  post(client: unknown, data: string) {
    this.sideEffects.push(String(data));
    return { event: 'posted', data };
  }

  @SubscribeMessage('ping')
  @Public()
  ping() {
    return { event: 'pong', data: true };
  }
}

@Controller('orders')
export class HttpOrders {
  @Get()
  @Scopes('read')
  list() {
    return ['o1'];
  }
}

export async function startWsApp(adapter: 'express' | 'fastify', options: IntrospectionModuleOptions, extra: DynamicModule[] = []) {
  const app: INestApplication = await createModuleApp(adapter, {
    imports: [IntrospectionModule.forRoot(options), ...extra],
    controllers: [HttpOrders],
    providers: [AttackGateway],
  });
  app.useWebSocketAdapter(authenticateWebSockets(new WsAdapter(app), app));
  await app.listen(0, '127.0.0.1');
  const http = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, http, ws: http.replace('http', 'ws') + '/ws', gateway: app.get(AttackGateway) };
}

export interface Client {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string; at: number }>;
  opened: Promise<boolean>;
  next(event: string, timeoutMs?: number): Promise<any>;
}

/**
 * A real ws client: `opened` (false if it closed first), `closed` (code, reason, when) and `next(event)`, the data
 * of the next message of that event, or undefined after `timeoutMs` (`defaultTimeoutMs` unless given; Infinity
 * waits as long as the test runs).
 */
export function open(url: string, headers: Record<string, string> = {}, extra: WebSocket.ClientOptions = {}, defaultTimeoutMs = 3000): Client {
  const ws = new WebSocket(url, { headers, ...extra });
  const inbox: any[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data) => {
    try {
      inbox.push(JSON.parse(String(data)));
    } catch {
      inbox.push({ event: 'raw', data: String(data) });
    }
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
    async next(event, timeoutMs = defaultTimeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex((m) => m.event === event);
        if (i >= 0) return inbox.splice(i, 1)[0].data;
        if (Date.now() > until) return undefined;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
  };
}
