import { afterEach, describe, expect, it } from '@jest/globals';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Controller, Get, Inject, Post, type INestApplication, type OnModuleInit } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import axios from 'axios';
import { firstValueFrom } from 'rxjs';
import {
  AuthorizationServerUnavailableError,
  attachOutboundToken,
  OutboundTokenService,
  Public,
  type OutboundTokenRefusedEvent,
  type OutboundTokenUnavailableEvent,
} from '../../lib/index.js';
import { ADAPTERS, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { FaultyServer } from '../support/faulty-server.js';
import { CollectingReader, sum } from '../support/metrics.js';

/**
 * The outbound token over `@nestjs/axios`' real HttpService (no mocks): a real oidc-provider restarted
 * with its in-memory store, a real backend that introspects every request (another app using this
 * library, no cache), and an edge app whose HttpService carries the interceptor.
 */
let backendUrl = '';
let brokenUrl = '';
let retryUrl = '';

@Controller('via-axios')
class AxiosProxyController implements OnModuleInit {
  constructor(
    @Inject(HttpService) private readonly http: HttpService,
    @Inject(OutboundTokenService) private readonly outbound: OutboundTokenService,
  ) {}

  onModuleInit() {
    // One HttpService, backends chosen per request (the `broken` one by URL).
    attachOutboundToken(this.http, this.outbound, (config) =>
      brokenUrl && config.url?.startsWith(brokenUrl) ? 'broken' : retryUrl && config.url?.startsWith(retryUrl) ? 'orders-post' : 'orders',
    );
  }

  private async send(method: 'get' | 'post', url = `${backendUrl}/orders`) {
    try {
      const res = await firstValueFrom(method === 'get' ? this.http.get(url) : this.http.post(url, { item: 1 }));
      return { status: res.status };
    } catch (error) {
      const e = error as { response?: { status: number }; name?: string; reason?: string };
      return { status: e.response?.status ?? 0, error: e.name, reason: e.reason, instance: error instanceof AuthorizationServerUnavailableError };
    }
  }

  @Public()
  @Get()
  get() {
    return this.send('get');
  }

  @Public()
  @Post()
  post() {
    return this.send('post');
  }

  @Public()
  @Post('retry')
  postRetried() {
    return this.send('post', retryUrl);
  }

  @Public()
  @Get('broken')
  broken() {
    return this.send('get', brokenUrl);
  }
}

describe.each(ADAPTERS)('outbound tokens through @nestjs/axios HttpService across an IdP restart over %s', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  const apps: INestApplication[] = [];
  const servers: FaultyServer[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await as?.stop();
    for (const s of servers.splice(0)) await s.stop();
    brokenUrl = '';
    retryUrl = '';
  });

  async function setup(brokenTokenEndpoint = 'http://127.0.0.1:9/token') {
    as = await TestAuthorizationServer.start();
    let rejected = 0;
    const backend = await startApp(adapter, {
      ...introspectionAt(as),
      cache: false, // every request asks the AS: a forgotten token is refused at once
      events: { onTokenRejected: () => rejected++ },
    });
    apps.push(backend.app);
    backendUrl = backend.url;
    // The instance has no baseURL (backends chosen per request): the token goes only to these origins.
    const origins = [backendUrl, brokenUrl, retryUrl].filter(Boolean).map((u) => new URL(u).origin);
    const reader = new CollectingReader();
    const refusals: OutboundTokenRefusedEvent[] = [];
    const unavailable: OutboundTokenUnavailableEvent[] = [];
    const edge = await startApp(
      adapter,
      {
        ...introspectionAt(as),
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
        events: { onOutboundTokenRefused: (e) => refusals.push(e), onOutboundTokenUnavailable: (e) => unavailable.push(e) },
        resilience: { retries: 2, retryInitialDelayMs: 10, retryMaxDelayMs: 20 },
        outbound: {
          orders: { tokenEndpoint: as.tokenEndpoint, clientId: CLIENTS.app.clientId, clientSecret: CLIENTS.app.clientSecret, scope: 'read write', origins },
          broken: { tokenEndpoint: brokenTokenEndpoint, clientId: 'x', clientSecret: 'y', origins },
          'orders-post': {
            tokenEndpoint: as.tokenEndpoint,
            clientId: CLIENTS.app.clientId,
            clientSecret: CLIENTS.app.clientSecret,
            retryNonIdempotent: true,
            origins,
          },
        },
      },
      [AxiosProxyController],
      [HttpModule.register({ timeout: 5_000 })],
    );
    apps.push(edge.app);
    return { as, edgeUrl: edge.url, outbound: edge.app.get(OutboundTokenService), rejected: () => rejected, reader, refusals, unavailable };
  }
  const proxied = async (url: string, path = '', init?: RequestInit) =>
    (await fetch(`${url}/via-axios${path}`, init)).json() as Promise<{ status: number; error?: string; reason?: string; instance?: boolean }>;

  it('one token reused; after the restart one refused backend call, one new token, the GET repeated and succeeding; metrics and events say so', async () => {
    const { as, edgeUrl, rejected, reader, refusals } = await setup();
    as.resetCounters();
    for (let i = 0; i < 3; i++) expect((await proxied(edgeUrl)).status).toBe(200);
    expect(as.tokenRequests).toBe(1); // cached, not one per call
    expect(rejected()).toBe(0);
    expect(await sum(reader, 'token_introspection.outbound.token_requests', { backend: 'orders', outcome: 'success' })).toBe(1);

    await as.restart(); // in-memory: the cached outbound token is forgotten
    as.resetCounters();
    for (let i = 0; i < 5; i++) expect((await proxied(edgeUrl)).status).toBe(200);
    expect(rejected()).toBe(1); // at most one failed backend call, not a window as long as the token's lifetime
    expect(as.tokenRequests).toBe(1); // one new token, then reused
    expect(refusals).toEqual([{ backend: 'orders', status: 401, tokenAgeMs: expect.any(Number), renewal: 'renewed', repeated: true }]);
    expect(await sum(reader, 'token_introspection.outbound.refusals', { backend: 'orders', renewal: 'renewed' })).toBe(1);
    expect(await sum(reader, 'token_introspection.outbound.token_requests', { backend: 'orders', outcome: 'success' })).toBe(2);
    expect(await sum(reader, 'token_introspection.outbound.token_request.duration', { backend: 'orders' })).toBe(2);
  });

  it('concurrent calls refused together fetch one new token', async () => {
    const { as, edgeUrl, reader } = await setup();
    expect((await proxied(edgeUrl)).status).toBe(200);
    await as.restart();
    as.resetCounters();
    const results = await Promise.all(Array.from({ length: 8 }, () => proxied(edgeUrl)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(as.tokenRequests).toBe(1); // renewals coalesced
    expect(await sum(reader, 'token_introspection.outbound.refusals', { renewal: 'renewed' })).toBe(1);
  });

  it('a POST (not idempotent) is not repeated; the next one uses the new token', async () => {
    const { as, edgeUrl, rejected, refusals } = await setup();
    expect((await proxied(edgeUrl, '', { method: 'POST' })).status).toBe(201);
    await as.restart();
    as.resetCounters();
    expect((await proxied(edgeUrl, '', { method: 'POST' })).status).toBe(401); // returned, not repeated
    expect(rejected()).toBe(1); // the backend saw it once
    expect(refusals).toEqual([expect.objectContaining({ renewal: 'renewed', repeated: false })]);
    expect((await proxied(edgeUrl, '', { method: 'POST' })).status).toBe(201); // the new token
    expect(as.tokenRequests).toBe(1);
  });

  it('with retryNonIdempotent a refused POST is repeated once with a new token and the same JSON body', async () => {
    const seen: string[] = [];
    const backend = await FaultyServer.start((req, res) => {
      const auth = String(req.headers.authorization);
      seen.push(auth);
      res.writeHead(auth === seen[0] ? 401 : 201).end();
    });
    servers.push(backend);
    retryUrl = backend.url;
    const { as, edgeUrl, refusals } = await setup();
    as.resetCounters();
    expect((await proxied(edgeUrl, '/retry', { method: 'POST' })).status).toBe(201);
    expect(seen).toHaveLength(2); // refused, renewed once, repeated once
    expect(seen[1]).not.toBe(seen[0]);
    expect(backend.bodies).toEqual(['{"item":1}', '{"item":1}']); // the body as sent, replayed intact
    expect(as.tokenRequests).toBe(2); // the first token, then one renewal
    expect(refusals).toEqual([expect.objectContaining({ backend: 'orders-post', renewal: 'renewed', repeated: true })]);
  });

  it('token endpoint failing: retried through the resilience policies, then AuthorizationServerUnavailableError; the backend is not called', async () => {
    const tokenEndpoint = await FaultyServer.start((_req, res) => void res.writeHead(500).end());
    const backendCalls = await FaultyServer.start((_req, res) => void res.writeHead(200).end());
    servers.push(tokenEndpoint, backendCalls);
    brokenUrl = backendCalls.url;
    const { edgeUrl, reader, unavailable } = await setup(tokenEndpoint.url);
    expect(await proxied(edgeUrl, '/broken')).toEqual({ status: 0, error: 'AuthorizationServerUnavailableError', reason: 'server_error', instance: true });
    expect(backendCalls.requests).toBe(0);
    expect(tokenEndpoint.requests).toBe(3); // first attempt + 2 retries
    expect(await sum(reader, 'token_introspection.outbound.token_requests', { backend: 'broken', outcome: 'error', 'error.type': 'server_error' })).toBe(3);
    expect(await sum(reader, 'token_introspection.outbound.token_unavailable', { backend: 'broken', 'error.type': 'server_error' })).toBe(1);
    expect(unavailable).toEqual([
      { backend: 'broken', reason: 'server_error', status: 500, retryAfterSeconds: expect.any(Number), elapsedMs: expect.any(Number) },
    ]);
  });

  it("refuses axios' global instance (HttpModule without register()) and unknown backends", async () => {
    const { outbound } = await setup();
    expect(() => attachOutboundToken(new HttpService(), outbound, 'orders')).toThrow(/global default instance.*HttpModule\.register/s);
    expect(() => attachOutboundToken(axios, outbound, 'orders')).toThrow(/global default instance/);
    expect(() => attachOutboundToken(axios.create(), outbound, 'nope')).toThrow(/no outbound backend named 'nope'/);
  });
});
