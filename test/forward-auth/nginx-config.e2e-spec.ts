// The shipped nginx configuration (sample/forward-auth/forward-auth.nginx.conf) on a real nginx, in front of a
// stand-in decision endpoint that answers whatever the test tells it: how nginx passes each decision status and
// header on to the client and the service, independently of the library (nginx.e2e-spec.ts runs the library).
import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import { EchoUpstream } from '../support/echo-upstream.js';
import { freePort } from '../support/free-port.js';
import { startForwardAuthNginx, type TestNginx } from '../support/nginx.js';
import { describeWithNginx } from '../support/nginx-required.js';
import { headerValues, httpCall } from '../support/raw-http.js';

/** A decision endpoint that answers `answer` to every request and records what nginx sent it. */
class StandInDecision {
  answer: { status: number; headers?: OutgoingHttpHeaders } = { status: 200 };
  readonly requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string; remotePort: number }> = [];
  private server?: Server;
  constructor(readonly port: number) {}

  /** Listens on its port (again after `close()`); does nothing while listening. */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort ?? 0 });
        // As the library answers: a 200 without a body (Content-Length: 0), which lets nginx keep the connection.
        res.writeHead(this.answer.status, { ...(this.answer.status === 200 ? { 'content-length': '0' } : {}), ...this.answer.headers });
        res.end(this.answer.status === 200 ? undefined : '{"error":"decided"}');
      });
    });
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

const challenge = 'Bearer realm="api", error="invalid_token", error_description="The access token is not active"';
const scopeChallenge = 'Bearer realm="api", error="insufficient_scope", scope="write"';

describeWithNginx('the shipped nginx configuration in front of a decision endpoint (real nginx, stand-in decision)', () => {
  let decision: StandInDecision;
  let upstream: EchoUpstream;
  let nginx: TestNginx;

  beforeAll(async () => {
    decision = new StandInDecision(await freePort());
    await decision.listen();
    upstream = await EchoUpstream.start();
    nginx = await startForwardAuthNginx({ decision: decision.port, upstream: upstream.port });
  });
  afterAll(async () => {
    await nginx?.stop();
    await upstream?.close();
    await decision?.close();
  });
  beforeEach(async () => {
    decision.answer = { status: 200 };
    decision.requests.length = 0;
    upstream.clear();
    await decision.listen(); // up again after the "sidecar down" test
  });

  const denied = async (path = '/orders') => {
    const res = await httpCall(`${nginx.url}${path}`, { headers: { authorization: 'Bearer opaque-token' } });
    expect(upstream.requests).toHaveLength(0);
    return res;
  };

  it('a 200 decision lets the request through with the identity headers the decision set, and the client gets the service answer', async () => {
    decision.answer = {
      status: 200,
      headers: { 'X-Auth-Subject': 'alice', 'X-Auth-Scopes': 'read write', 'X-Auth-Client-Id': 'app', 'X-Auth-Username': 'Alice' },
    };
    const res = await httpCall(`${nginx.url}/orders?page=2`, { headers: { authorization: 'Bearer opaque-token' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ upstream: true, method: 'GET', url: '/orders?page=2' });
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0].headers).toMatchObject({
      'x-auth-subject': 'alice',
      'x-auth-scopes': 'read write',
      'x-auth-client-id': 'app',
      'x-auth-username': 'Alice',
    });
  });

  it("a client's own X-Auth-* headers never reach the service: replaced by the decision's, removed where the decision set none", async () => {
    decision.answer = { status: 200, headers: { 'X-Auth-Subject': 'alice' } };
    await httpCall(`${nginx.url}/orders`, {
      headers: {
        authorization: 'Bearer opaque-token',
        'x-auth-subject': 'admin',
        'x-auth-scopes': 'admin',
        'x-auth-client-id': 'root',
        'x-auth-username': 'root',
        'x-auth-expires': '9999999999',
      },
    });
    const received = upstream.requests[0];
    expect(headerValues(received.rawHeaders, 'x-auth-subject')).toEqual(['alice']);
    for (const name of ['x-auth-scopes', 'x-auth-client-id', 'x-auth-username', 'x-auth-expires']) expect(received.headers[name]).toBeUndefined();
  });

  it("the client's opaque token does not reach the service; a phantom token from the decision replaces it", async () => {
    await httpCall(`${nginx.url}/orders`, { headers: { authorization: 'Bearer opaque-token' } });
    expect(upstream.requests[0].headers.authorization).toBeUndefined();
    decision.answer = { status: 200, headers: { Authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' } };
    await httpCall(`${nginx.url}/orders`, { headers: { authorization: 'Bearer opaque-token' } });
    expect(headerValues(upstream.requests[1].rawHeaders, 'authorization')).toEqual(['Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig']);
  });

  it('the decision gets the original method and URI, the Authorization header and no body; a client cannot choose the URI it is decided on', async () => {
    await httpCall(`${nginx.url}/orders/7?x=1`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer opaque-token',
        'content-type': 'application/json',
        'x-original-uri': '/public',
        'x-forwarded-uri': '/public',
        'x-forwarded-method': 'GET',
        'x-original-method': 'GET',
      },
      body: '{"large":"body"}',
    });
    const seen = decision.requests[0];
    expect(seen.url).toBe('/auth/decision');
    expect(seen.method).toBe('GET'); // an auth_request subrequest is always a GET
    expect(seen.body).toBe('');
    expect(seen.headers['content-length']).toBeUndefined();
    expect(seen.headers).toMatchObject({
      authorization: 'Bearer opaque-token',
      'x-original-uri': '/orders/7?x=1',
      'x-original-method': 'POST',
      'x-forwarded-uri': '/orders/7?x=1',
      'x-forwarded-method': 'POST',
      'x-forwarded-proto': 'http',
    });
    expect(upstream.requests[0].body).toBe('{"large":"body"}');
  });

  it('401: the client gets 401 with the decision WWW-Authenticate exactly once, and the service is not reached', async () => {
    decision.answer = { status: 401, headers: { 'WWW-Authenticate': challenge } };
    const res = await denied();
    expect(res.status).toBe(401);
    expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([challenge]);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('401: DPoP-Nonce reaches the client, and one WWW-Authenticate line holding the Bearer and DPoP challenges passes whole', async () => {
    const both = 'Bearer error="invalid_token", DPoP algs="ES256", error="use_dpop_nonce"';
    decision.answer = { status: 401, headers: { 'WWW-Authenticate': both, 'DPoP-Nonce': 'nonce-1' } };
    const res = await denied();
    expect(res.status).toBe(401);
    expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([both]);
    expect(headerValues(res.rawHeaders, 'dpop-nonce')).toEqual(['nonce-1']);
  });

  it('403: the client gets 403 with the insufficient_scope WWW-Authenticate (nginx alone would drop it)', async () => {
    decision.answer = { status: 403, headers: { 'WWW-Authenticate': scopeChallenge } };
    const res = await denied();
    expect(res.status).toBe(403);
    expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual([scopeChallenge]);
  });

  it('503 + Retry-After from the decision reaches the client as 503 + Retry-After (nginx alone answers 500 without it)', async () => {
    decision.answer = { status: 503, headers: { 'Retry-After': '7' } };
    const res = await denied();
    expect(res.status).toBe(503);
    expect(headerValues(res.rawHeaders, 'retry-after')).toEqual(['7']);
    expect(JSON.parse(res.body)).toEqual({ error: 'temporarily_unavailable' });
  });

  it('400 invalid_request from the decision reaches the client as 400 with its WWW-Authenticate', async () => {
    decision.answer = { status: 400, headers: { 'WWW-Authenticate': 'Bearer error="invalid_request"' } };
    const res = await denied();
    expect(res.status).toBe(400);
    expect(headerValues(res.rawHeaders, 'www-authenticate')).toEqual(['Bearer error="invalid_request"']);
  });

  it('the sidecar unreachable (connection refused) is 503 + Retry-After: 5 at the client, not 500', async () => {
    await decision.close();
    const res = await denied();
    expect(res.status).toBe(503);
    expect(headerValues(res.rawHeaders, 'retry-after')).toEqual(['5']);
  });

  it("502 and 504 (nginx's own statuses for a failing or timed-out sidecar) are 503 + Retry-After: 5", async () => {
    for (const status of [502, 504]) {
      decision.answer = { status };
      const res = await denied();
      expect([status, res.status, res.headers['retry-after']]).toEqual([status, 503, '5']);
    }
  });

  it('any other decision status (500, 404, 302) stays a 500 at the client and never lets the request through', async () => {
    for (const status of [500, 404, 302]) {
      decision.answer = { status, headers: status === 302 ? { location: '/elsewhere' } : {} };
      const res = await denied();
      expect([status, res.status, res.headers['retry-after'], res.headers.location]).toEqual([status, 500, undefined, undefined]);
    }
  });

  it('the decision subrequests reuse kept-alive connections to the sidecar', async () => {
    for (let i = 0; i < 20; i++) await httpCall(`${nginx.url}/orders`, { headers: { authorization: 'Bearer opaque-token' } });
    expect(decision.requests).toHaveLength(20);
    expect(new Set(decision.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });
});
