import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Post, Query } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { AuthorizationServerUnavailableError, OutboundTokenService, Public } from '../../lib/index.js';
import { ADAPTERS, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { FaultyServer } from '../support/faulty-server.js';

/**
 * The seed failure (WSO2 API Manager): a gateway caches its own client-credentials token for a
 * backend; the IdP restarts and forgets it; the backend refuses it for its whole remaining lifetime.
 * Here: a real oidc-provider (in-memory, restarted), a real backend that introspects every request
 * (another app using this library, no cache), and an edge app calling it through OutboundTokenService.
 */
let backendUrl = '';

@Controller('proxy')
class ProxyController {
  constructor(@Inject(OutboundTokenService) private readonly outbound: OutboundTokenService) {}

  @Public()
  @Get()
  async get() {
    const res = await this.outbound.fetch('orders', `${backendUrl}/orders`);
    return { status: res.status, body: await res.text() };
  }

  @Public()
  @Post()
  async post(@Query('retry') retry?: string) {
    const res = await this.outbound.fetch(retry ? 'orders-post' : 'orders', `${backendUrl}/orders`, { method: 'POST', body: '{}' });
    return { status: res.status };
  }
}

describe.each(ADAPTERS)('outbound client-credentials tokens across an IdP restart over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  const apps: INestApplication[] = [];
  let faulty: FaultyServer | undefined;
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await as?.stop();
    await faulty?.stop();
    faulty = undefined;
  });

  async function setup(backendOverrides: Record<string, unknown> = {}, brokenTokenEndpoint = 'http://127.0.0.1:9/token', otherBackends: string[] = []) {
    as = await TestAuthorizationServer.start();
    let rejected = 0;
    const backend = await startApp(adapter, {
      ...introspectionAt(as),
      cache: false, // every request asks the AS: a forgotten token is refused at once
      events: { onTokenRejected: () => rejected++ },
      ...backendOverrides,
    });
    apps.push(backend.app);
    backendUrl = backend.url;
    // The token goes only to these origins (`origins`; fetch() needs it).
    const origins = [new URL(backend.url).origin, ...otherBackends.map((u) => new URL(u).origin)];
    const edge = await startApp(
      adapter,
      {
        ...introspectionAt(as),
        outbound: {
          orders: { tokenEndpoint: as.tokenEndpoint, clientId: CLIENTS.app.clientId, clientSecret: CLIENTS.app.clientSecret, scope: 'read write', origins },
          broken: { tokenEndpoint: brokenTokenEndpoint, clientId: 'x', clientSecret: 'y', origins },
          'orders-403': {
            tokenEndpoint: as.tokenEndpoint,
            clientId: CLIENTS.app.clientId,
            clientSecret: CLIENTS.app.clientSecret,
            retryOn403InvalidToken: true,
            origins,
          },
          'orders-post': {
            tokenEndpoint: as.tokenEndpoint,
            clientId: CLIENTS.app.clientId,
            clientSecret: CLIENTS.app.clientSecret,
            scope: 'read write',
            retryNonIdempotent: true,
            origins,
          },
        },
      },
      [ProxyController],
    );
    apps.push(edge.app);
    const outbound = edge.app.get(OutboundTokenService);
    return { as, edgeUrl: edge.url, outbound, rejected: () => rejected };
  }
  const proxied = async (url: string, init?: RequestInit, query = '') => (await fetch(`${url}/proxy${query}`, init)).json() as Promise<{ status: number }>;

  it('reuses one token; after the restart, one refused backend call, one new token, the request succeeds', async () => {
    const { as, edgeUrl, rejected } = await setup();
    as.resetCounters();
    for (let i = 0; i < 3; i++) expect((await proxied(edgeUrl)).status).toBe(200);
    expect(as.tokenRequests).toBe(1); // cached, not one per call

    await as.restart(); // in-memory: our cached outbound token is forgotten
    as.resetCounters();
    for (let i = 0; i < 5; i++) expect((await proxied(edgeUrl)).status).toBe(200);
    expect(rejected()).toBe(1); // at most one failed backend call, not a window as long as the token's lifetime
    expect(as.tokenRequests).toBe(1); // one new token, then reused
  });

  it('concurrent calls refused together fetch one new token', async () => {
    const { as, edgeUrl, rejected } = await setup();
    expect((await proxied(edgeUrl)).status).toBe(200);
    await as.restart();
    as.resetCounters();
    const results = await Promise.all(Array.from({ length: 8 }, () => proxied(edgeUrl)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(as.tokenRequests).toBe(1); // renewals coalesced
    expect(rejected()).toBeLessThanOrEqual(8); // each in-flight call saw the old token at most once
  });

  it('a POST is not repeated unless allowed; the token is still replaced for the next call', async () => {
    const { as, edgeUrl } = await setup();
    expect((await proxied(edgeUrl, { method: 'POST' })).status).toBe(201);
    await as.restart();
    as.resetCounters();
    expect((await proxied(edgeUrl, { method: 'POST' })).status).toBe(401); // not safe to repeat
    expect((await proxied(edgeUrl, { method: 'POST' })).status).toBe(201); // the new token
    expect(as.tokenRequests).toBe(1);
    // The backend with retryNonIdempotent repeats it.
    await proxied(edgeUrl, { method: 'POST' }, '?retry=1');
    await as.restart();
    expect((await proxied(edgeUrl, { method: 'POST' }, '?retry=1')).status).toBe(201);
  });

  it('a backend answering 403 invalid_token: a refusal of our token only when configured', async () => {
    const seen: string[] = [];
    // A gateway that refuses the first token it sees with 403 invalid_token, and accepts any other.
    faulty = await FaultyServer.start((req, res) => {
      const auth = String(req.headers.authorization);
      seen.push(auth);
      if (auth === seen[0]) res.writeHead(403, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      else res.writeHead(200).end('ok');
    });
    const { as, outbound } = await setup({}, undefined, [faulty.url]);
    as.resetCounters();
    expect((await outbound.fetch('orders', faulty.url)).status).toBe(403);
    expect(seen).toHaveLength(1); // not configured: a 403 is the backend's answer
    expect(as.tokenRequests).toBe(1);

    seen.length = 0;
    const res = await outbound.fetch('orders-403', faulty.url);
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(2); // refused, renewed once, repeated once
    expect(seen[1]).not.toBe(seen[0]);
    expect(as.tokenRequests).toBe(3);
  });

  it('token endpoint failing: retried through the resilience policies, then AuthorizationServerUnavailableError; no backend call', async () => {
    faulty = await FaultyServer.start((_req, res) => void res.writeHead(500).end());
    const backendCalls = await FaultyServer.start((_req, res) => void res.writeHead(200).end());
    const { outbound } = await setup({}, faulty.url, [backendCalls.url]);
    try {
      await expect(outbound.fetch('broken', backendCalls.url)).rejects.toBeInstanceOf(AuthorizationServerUnavailableError);
      expect(faulty.requests).toBeGreaterThan(1); // retried, as introspection calls are
      expect(backendCalls.requests).toBe(0);
    } finally {
      await backendCalls.stop();
    }
    await expect(outbound.getToken('nope')).rejects.toThrow(/No outbound backend named 'nope'/);
  });
});
