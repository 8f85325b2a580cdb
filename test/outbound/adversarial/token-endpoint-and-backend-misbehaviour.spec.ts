// Adversarial review of outbound tokens (round 15; was attack15-outbound).
import { afterEach, describe, expect, it } from '@jest/globals';
import { resolveOptions } from '../../../lib/options/resolve-options.js';
import { OutboundTokenService } from '../../../lib/outbound/outbound-token.service.js';
import { FaultyServer, behave } from '../../support/faulty-server.js';

/** Review 15 attacks on outbound tokens: real token endpoint and backends on 127.0.0.1 (FaultyServer). */
describe('outbound tokens with a misbehaving token endpoint and backends', () => {
  const servers: FaultyServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });
  const start = async (b: Parameters<typeof FaultyServer.start>[0]) => {
    const s = await FaultyServer.start(b);
    servers.push(s);
    return s;
  };
  let issued = 0;
  const tokenEndpoint = (extra: Record<string, unknown> = {}) =>
    start((_req, res) => {
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `tok-${issued}`, token_type: 'Bearer', expires_in: 3600, ...extra }));
    });
  const service = (endpoint: string, extra: Record<string, unknown> = {}) =>
    new OutboundTokenService(
      resolveOptions({ introspectionEndpoint: 'http://127.0.0.1:1/introspect', clientId: 'api', clientSecret: 's', allowInsecureRequests: true }),
      {
        // `origins` (which fetch() needs): every server the test started so far, unless the test names them.
        a: { tokenEndpoint: endpoint, clientId: 'api', clientSecret: 's', origins: servers.map((s) => new URL(s.url).origin), ...extra },
        b: { tokenEndpoint: endpoint, clientId: 'api', clientSecret: 's', origins: servers.map((s) => new URL(s.url).origin) },
      },
    );

  it('a backend that answers 401 forever costs the token endpoint a bounded number of requests', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const backend = await start(behave.json({ error: 'invalid_token' }, 401, { 'www-authenticate': 'Bearer error="invalid_token"' }));
    const out = service(as.url.replace('/introspect', '/token'));
    for (let i = 0; i < 20; i++) expect((await out.fetch('a', backend.url)).status).toBe(401);
    // Observed: 2 token requests per backend call (40), forever; expected a bound (one renewal per refusal burst / backoff).
    expect(as.requests).toBeLessThanOrEqual(5);
  });

  it('a redirect to another origin does not carry our token there', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const evil = await start(behave.json({ ok: true }));
    const seen: string[] = [];
    evil.behaviour = (req, res) => {
      seen.push(String(req.headers.authorization ?? ''));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    };
    const backend = await start((_req, res) => {
      res.writeHead(302, { location: evil.url });
      res.end();
    });
    const out = service(as.url, { origins: [new URL(backend.url).origin] });
    await out.fetch('a', backend.url);
    expect(seen.length).toBe(1);
    expect(seen[0]).toBe('');
  });

  it('a token_type the API cannot use (DPoP) is not sent as Bearer', async () => {
    issued = 0;
    const as = await tokenEndpoint({ token_type: 'DPoP' });
    const out = service(as.url);
    await expect(out.getToken('a')).rejects.toThrow();
  });

  it('expires_in 0 does not keep a token for 5 minutes', async () => {
    issued = 0;
    const as = await tokenEndpoint({ expires_in: 0 });
    const out = service(as.url);
    const first = await out.getToken('a');
    await new Promise((r) => setTimeout(r, 1100));
    const second = await out.getToken('a');
    expect(second).not.toBe(first);
  });

  it('expires_in huge (1e400 → Infinity) does not crash (such a token is then only renewed after a 401)', async () => {
    issued = 0;
    const as = await start((_req, res) => {
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"access_token":"tok-${issued}","token_type":"Bearer","expires_in":1e400}`);
    });
    const out = service(as.url);
    expect(await out.getToken('a')).toBe('tok-1');
    expect(as.requests).toBe(1);
  });

  it('a backend 401 while the token endpoint is down returns the 401 (or a clear unavailable error), no hang', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const backend = await start(behave.json({}, 401));
    const out = service(as.url);
    await out.getToken('a');
    as.behaviour = (_req, res) => {
      res.destroy();
    };
    const started = Date.now();
    let outcome: unknown;
    try {
      outcome = (await out.fetch('a', backend.url)).status;
    } catch (error) {
      outcome = (error as Error).name;
    }
    expect(Date.now() - started).toBeLessThan(15_000);
    expect([401, 'AuthorizationServerUnavailableError']).toContain(outcome);
  }, 30_000);

  it('backend A token never sent to backend B; concurrent 401s cause one renewal', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    let refuse = true;
    const auth: string[] = [];
    const backend = await start((req, res) => {
      auth.push(String(req.headers.authorization));
      res.writeHead(refuse && req.headers.authorization === 'Bearer tok-1' ? 401 : 200);
      res.end();
    });
    const out = service(as.url);
    const ta = await out.getToken('a');
    const tb = await out.getToken('b');
    expect(ta).not.toBe(tb);
    const statuses = await Promise.all(Array.from({ length: 10 }, () => out.fetch('a', backend.url).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(as.requests).toBe(3); // a, b, one renewal for a
    refuse = false;
  });

  it('an access_token that cannot go in a header is refused at the token endpoint, not cached, and never echoed in an error', async () => {
    issued = 0;
    const as = await start((_req, res) => {
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: issued === 1 ? 'SECRET-TOKEN\r\nx-injected: 1' : 'good', token_type: 'Bearer', expires_in: 3600 }));
    });
    const backend = await start(behave.json({}, 200));
    const out = service(as.url);
    let message = '';
    try {
      await out.fetch('a', backend.url);
    } catch (error) {
      message = `${(error as Error).message} ${String((error as Error & { cause?: Error }).cause?.message ?? '')}`;
    }
    // The next call must not reuse the unusable token for its whole lifetime.
    let next: unknown;
    try {
      next = (await out.fetch('a', backend.url)).status;
    } catch (error) {
      next = (error as Error).name;
    }
    expect({ leaked: message.includes('SECRET-TOKEN'), next }).toEqual({ leaked: false, next: 200 });
  });

  it('requests a caller shapes so the backend answers 401 (e.g. a bad forwarded user) cannot exhaust the token endpoint for everyone', async () => {
    issued = 0;
    // An AS with a modest rate limit on its token endpoint (10 tokens, then 429), as real ones have.
    const as = await start((_req, res) => {
      issued++;
      if (issued > 10) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' });
        res.end('{"error":"slow_down"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: `tok-${issued}`, token_type: 'Bearer', expires_in: 3600 }));
    });
    // The backend refuses requests for an unknown end user with 401 (the caller controls x-user).
    const backend = await start((req, res) => {
      res.writeHead(req.headers['x-user'] === 'mallory' ? 401 : 200);
      res.end();
    });
    const out = service(as.url);
    expect((await out.fetch('a', backend.url, { headers: { 'x-user': 'alice' } })).status).toBe(200);
    for (let i = 0; i < 10; i++) await out.fetch('a', backend.url, { headers: { 'x-user': 'mallory' } }).catch(() => undefined);
    let alice: unknown;
    try {
      alice = (await out.fetch('a', backend.url, { headers: { 'x-user': 'alice' } })).status;
    } catch (error) {
      alice = (error as Error).name;
    }
    expect({ alice, tokenRequests: as.requests }).toEqual({ alice: 200, tokenRequests: expect.any(Number) });
  }, 30_000);

  it('a POST and a stream body are not replayed', async () => {
    issued = 0;
    const as = await tokenEndpoint();
    const backend = await start(behave.json({}, 401));
    const out = service(as.url);
    expect((await out.fetch('a', backend.url, { method: 'post', body: 'x' })).status).toBe(401);
    const stream = new ReadableStream({
      start: (c) => {
        c.enqueue(new TextEncoder().encode('x'));
        c.close();
      },
    });
    expect((await out.fetch('a', backend.url, { method: 'PUT', body: stream, duplex: 'half' })).status).toBe(401);
    expect(backend.requests).toBe(2);
  });
});
