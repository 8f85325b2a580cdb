import { afterEach, describe, expect, it } from '@jest/globals';
import { inspect } from 'node:util';
import axios, { AxiosError } from 'axios';
import { attachOutboundToken, IntrospectionConfigurationError } from '../../lib/index.js';
import { resolveOptions } from '../../lib/options/resolve-options.js';
import { OutboundTokenService } from '../../lib/outbound/outbound-token.service.js';
import { FaultyServer } from '../support/faulty-server.js';

/**
 * Outbound tokens go only to the backend's origins; one attachment per axios instance; the token kept out of
 * what axios hands back; the renewal budget on refusals per request key. Real servers on 127.0.0.1.
 */
describe('outbound tokens: origins, attachments, redaction, renewal budget', () => {
  const servers: FaultyServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });
  const start = async (b: Parameters<typeof FaultyServer.start>[0]) => {
    const s = await FaultyServer.start(b);
    servers.push(s);
    return s;
  };
  const origin = (url: string) => new URL(url).origin;
  let issued = 0;
  /** A token endpoint issuing tok-1, tok-2, … */
  const tokenEndpoint = () =>
    start((_req, res) => {
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `tok-${issued}`, token_type: 'Bearer', expires_in: 3600 }));
    });
  /** A backend that accepts the tokens in `valid` (an AS restart empties it) and records what it saw. */
  const backend = async (valid: Set<string>, alwaysRefused = /^\/user-scoped/) => {
    const seen: Array<{ path: string; auth: string }> = [];
    const s = await start((req, res) => {
      const auth = String(req.headers.authorization ?? '');
      seen.push({ path: String(req.url), auth });
      const ok = !alwaysRefused.test(String(req.url)) && valid.has(auth.replace(/^Bearer /, ''));
      res.writeHead(ok ? 200 : 401, ok ? { 'content-type': 'application/json' } : { 'www-authenticate': 'Bearer error="invalid_token"' }).end(ok ? '{}' : '');
    });
    return { url: origin(s.url), seen, server: s };
  };
  const service = (endpoint: string, extra: Record<string, unknown> = {}) =>
    new OutboundTokenService(
      resolveOptions({ introspectionEndpoint: 'http://127.0.0.1:1/introspect', clientId: 'api', clientSecret: 's', allowInsecureRequests: true }),
      { a: { tokenEndpoint: endpoint, clientId: 'api', clientSecret: 's', ...extra } },
    );
  const status = async (p: Promise<{ status: number }>) => {
    try {
      return (await p).status;
    } catch (e) {
      return (e as AxiosError).response?.status ?? -1;
    }
  };

  it('fetch(): the token only to `origins`; another origin gets the request without it; no origins is a configuration error', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const valid = new Set(['tok-1']);
    const api = await backend(valid);
    const other = await backend(valid);
    expect(() => service(as.url, { origins: ['https://x.example/path'] })).toThrow(/origins: 'https:\/\/x\.example\/path' is not an origin/);
    await expect(service(as.url).fetch('a', `${api.url}/orders`)).rejects.toThrow(/set `outbound\.a\.origins`/);
    const out = service(as.url, { origins: api.url });
    expect((await out.fetch('a', `${api.url}/orders`)).status).toBe(200);
    expect((await out.fetch('a', `${other.url}/orders`)).status).toBe(401); // sent, without the token, and not renewed
    expect(other.seen).toEqual([{ path: '/orders', auth: '' }]);
    expect(as.requests).toBe(1);
  });

  it('axios: `origins` lets an instance without baseURL carry the token to those origins only (relative, absolute, per-request baseURL)', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const valid = new Set(['tok-1']);
    const api = await backend(valid);
    const other = await backend(valid);
    const bare = axios.create();
    expect(() => attachOutboundToken(bare, service(as.url), 'a')).toThrow(/no `baseURL` and `outbound\.a\.origins` is not set/);
    const out = service(as.url, { origins: [api.url] });
    attachOutboundToken(bare, out, 'a');
    expect((await bare.get(`${api.url}/orders`)).status).toBe(200);
    expect(await status(bare.get(`${other.url}/orders`))).toBe(401);
    expect(await status(bare.get('/orders', { baseURL: other.url }))).toBe(401);
    expect(await status(bare.get(`//127.0.0.1:${new URL(other.url).port}/orders`))).not.toBe(200);
    expect(other.seen.map((s) => s.auth).filter(Boolean)).toEqual([]);
    // An instance whose baseURL is the backend: a per-request baseURL elsewhere gets no token either.
    const based = axios.create({ baseURL: api.url });
    attachOutboundToken(based, service(as.url), 'a');
    expect(await status(based.get('/orders', { baseURL: other.url }))).toBe(401);
    expect(other.seen.map((s) => s.auth).filter(Boolean)).toEqual([]);
  });

  it('axios: one attachment per instance — the same arguments again are a no-op, others are refused; detach frees the instance', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const api = await backend(new Set(['tok-1']));
    const out = service(as.url);
    const instance = axios.create({ baseURL: api.url });
    const detach = attachOutboundToken(instance, out, 'a');
    expect(attachOutboundToken(instance, out, 'a')).toBe(detach);
    expect(() => attachOutboundToken(instance, out, () => 'a')).toThrow(IntrospectionConfigurationError);
    expect(() => attachOutboundToken(instance, service(as.url), 'a')).toThrow(/already carries outbound tokens/);
    detach();
    expect(await status(instance.get('/orders'))).toBe(401);
    expect(api.seen.at(-1)!.auth).toBe('');
    attachOutboundToken(instance, out, 'a');
    expect((await instance.get('/orders')).status).toBe(200);
    // Shutdown ejects what the service attached.
    out.onApplicationShutdown();
    expect(await status(instance.get('/orders'))).toBe(401);
    expect(api.seen.at(-1)!.auth).toBe('');
  });

  it('axios: the token is not in what the caller gets back, and a resend of error.config (a retry library) still works', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const valid = new Set(['tok-1']);
    const api = await backend(valid, /^\/user-scoped/);
    const out = service(as.url);
    const instance = axios.create({ baseURL: api.url });
    attachOutboundToken(instance, out, 'a');
    const ok = await instance.get('/orders');
    const error = await instance.get('/user-scoped').then(
      () => undefined,
      (e: AxiosError) => e,
    );
    expect(error?.response?.status).toBe(401);
    for (const leaked of [JSON.stringify(error!.toJSON()), inspect(error, { depth: 8 }), inspect(ok, { depth: 8 })]) {
      expect(leaked).not.toMatch(/tok-\d/);
    }
    expect(error!.config!.headers.get('authorization')).toBe('Bearer [redacted]');
    valid.add(`tok-${issued}`);
    expect((await instance.request({ ...error!.config!, url: '/orders' })).status).toBe(200); // re-stamped with a real token
    expect(api.seen.at(-1)!.auth).toMatch(/^Bearer tok-\d$/);
  });

  it('renewal budget: a path that always answers 401 cannot use up the renewal an IdP restart needs; a global cap still holds', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const valid = new Set(['tok-1']);
    const api = await backend(valid, /^\/user-scoped/);
    const out = service(as.url);
    const instance = axios.create({ baseURL: api.url });
    attachOutboundToken(instance, out, 'a');
    expect((await instance.get('/orders')).status).toBe(200);
    expect(await status(instance.get('/user-scoped'))).toBe(401); // renews (tok-2), the repeat refused too
    valid.clear(); // the IdP restarted: every token forgotten, the next ones are valid
    const issueValid = as.behaviour;
    as.behaviour = (req, res, body) => {
      valid.add(`tok-${issued + 1}`);
      return issueValid(req, res, body);
    };
    const results: number[] = [];
    for (let i = 0; i < 5; i++) results.push(await status(instance.get('/orders')));
    expect(results).toEqual([200, 200, 200, 200, 200]); // the refusal on /orders renewed and repeated: no failed call
    // Refusals on many paths: at most 4 renewals per backend every 5 s, then they are rate limited.
    const before = as.requests;
    for (let i = 0; i < 10; i++) await status(instance.get(`/user-scoped/${i}`));
    expect(as.requests - before).toBeLessThanOrEqual(4);
  });
});
