import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { connect } from 'node:net';
import { IntrospectionConfigurationError, resolveOptionsForTests } from '../support/token-sources.js';
import { ADAPTERS, startApp } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { capturedLogs } from '../support/engine.js';

/** A raw HTTP/1.1 request with exactly these header lines (duplicates, odd bytes): what fetch() would not send. */
function raw(url: string, path: string, headers: Array<[string, string]>): Promise<{ status: number; headers: string; body: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head, ...rest] = text.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      let body: any = rest.join('\r\n\r\n');
      try {
        body = JSON.parse(body.includes('{') ? body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1) : body);
      } catch {
        /* not JSON */
      }
      resolve({ status, headers: head.toLowerCase(), body });
    });
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close', ...headers.map(([n, v]) => `${n}: ${v}`)];
    socket.write(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  });
}

describe.each(ADAPTERS)('tokenSources over %s with a real authorization server', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  let token: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(adapter, {
      ...introspectionAt(as),
      tokenSources: [{ in: 'header' }, { in: 'cookie', name: 'access_token' }, { in: 'header', name: 'X-Api-Token' }],
    }));
    token = await as.issueToken({ scope: 'read write' });
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  const get = (headers: Array<[string, string]>) => raw(url, '/orders', headers);

  it.each([
    ['the Authorization header', (t: string) => [['Authorization', `Bearer ${t}`]] as Array<[string, string]>],
    ['the cookie', (t: string) => [['Cookie', `theme=dark; access_token=${t}; lang=en`]] as Array<[string, string]>],
    ['a quoted cookie', (t: string) => [['Cookie', `access_token="${t}"`]] as Array<[string, string]>],
    ['the custom header', (t: string) => [['X-Api-Token', t]] as Array<[string, string]>],
  ])('a token in %s is accepted', async (_where, headers) => {
    const res = await get(headers(token));
    expect(res.status).toBe(200);
    expect(res.body.scopes).toEqual(['read', 'write']);
  });

  it('no token anywhere: 401 with a bare Bearer challenge (the challenge stays RFC 6750)', async () => {
    const res = await get([['Cookie', 'theme=dark']]);
    expect(res.status).toBe(401);
    expect(res.headers).toContain('www-authenticate: bearer\r\n');
  });

  it.each([
    [
      'header and cookie',
      (t: string) =>
        [
          ['Authorization', `Bearer ${t}`],
          ['Cookie', `access_token=${t}`],
        ] as Array<[string, string]>,
    ],
    [
      'cookie and custom header',
      (t: string) =>
        [
          ['Cookie', `access_token=${t}`],
          ['X-Api-Token', t],
        ] as Array<[string, string]>,
    ],
    [
      'header and custom header, different tokens',
      (t: string) =>
        [
          ['Authorization', `Bearer ${t}`],
          ['X-Api-Token', 'other-token'],
        ] as Array<[string, string]>,
    ],
  ])('two sources at once (%s): 400 invalid_request, no call to the AS', async (_what, headers) => {
    as.resetCounters();
    const res = await get(headers(token));
    expect(res.status).toBe(400);
    expect(res.headers).toContain('error="invalid_request"');
    expect(res.body.message).toMatch(/exactly one place/);
    expect(as.introspectionRequests).toBe(0);
  });

  it.each<[string, Array<[string, string]>]>([
    ['a cookie sent twice under one name (cookie tossing)', [['Cookie', 'access_token=aaaa; access_token=bbbb']]],
    [
      'two Cookie headers carrying the cookie',
      [
        ['Cookie', 'access_token=aaaa'],
        ['Cookie', 'access_token=bbbb'],
      ],
    ],
    ['an oversized cookie', [['Cookie', `access_token=${'a'.repeat(5000)}`]]],
    ['junk characters in the cookie', [['Cookie', 'access_token=abc%20def']]],
    ['a comma in the cookie', [['Cookie', 'access_token=abc,def']]],
    ['an empty cookie', [['Cookie', 'access_token=']]],
    ['a scheme in the custom header', [['X-Api-Token', 'Bearer abcdef']]],
    ['an empty custom header', [['X-Api-Token', '']]],
    [
      'the custom header twice',
      [
        ['X-Api-Token', 'aaaa'],
        ['X-Api-Token', 'bbbb'],
      ],
    ],
    ['non-ASCII bytes in the custom header', [['X-Api-Token', 'abc\xe9def']]],
    ['a header-injection attempt (CR inside a value)', [['X-Api-Token', 'abc\rSet-Cookie: x=1']]],
    ['junk in the custom header', [['X-Api-Token', 'abc def']]],
  ])('%s: 4xx, never a call to the AS, never a 500', async (_what, headers) => {
    as.resetCounters();
    const res = await get(headers);
    expect([400, 401]).toContain(res.status);
    if (res.status === 400 && res.headers.includes('www-authenticate')) expect(res.headers).toContain('error="invalid_request"');
    expect(res.headers).not.toContain('set-cookie: x=1');
    expect(as.introspectionRequests).toBe(0);
  });

  it('a well-formed but forged token in the cookie: 401 invalid_token from the AS answer', async () => {
    const res = await get([['Cookie', 'access_token=forged-token-value-123456']]);
    expect(res.status).toBe(401);
    expect(res.headers).toContain('error="invalid_token"');
  });

  it('another scheme in Authorization beside a cookie token: the cookie counts (Basic is no bearer token)', async () => {
    const res = await get([
      ['Authorization', 'Basic YTpi'],
      ['Cookie', `access_token=${token}`],
    ]);
    expect(res.status).toBe(200);
  });

  it('a query parameter is not a source unless configured', async () => {
    as.resetCounters();
    const res = await raw(url, `/orders?access_token=${token}`, []);
    expect(res.status).toBe(401);
    expect(as.introspectionRequests).toBe(0);
  });
});

describe('tokenSources at start-up', () => {
  const base = { introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's', audience: 'api' };

  it('the query string is refused without the unsafe flag, with a message saying why and what to do', () => {
    const failure = (() => {
      try {
        resolveOptionsForTests({ ...base, tokenSources: [{ in: 'query' } as never] });
      } catch (error) {
        return error as Error;
      }
    })();
    expect(failure).toBeInstanceOf(IntrospectionConfigurationError);
    expect(failure!.message).toMatch(/RFC 6750 §2.3/);
    expect(failure!.message).toMatch(/dangerouslyAllowTokenInUrl/);
  });

  it('with the flag, a strong warning', () => {
    const resolved = resolveOptionsForTests({ ...base, tokenSources: [{ in: 'query', dangerouslyAllowTokenInUrl: true }] });
    expect(resolved.warnings.join('\n')).toMatch(/UNSAFE: tokenSources accepts access tokens in the query string/);
  });

  it.each([
    ['a reserved header', [{ in: 'header', name: 'Cookie' }]],
    ['an invalid header name', [{ in: 'header', name: 'X Token' }]],
    ['an invalid cookie name', [{ in: 'cookie', name: 'a;b' }]],
    ['an unknown place', [{ in: 'body' }]],
    ['an empty list', []],
    ['a repeated source', [{ in: 'header' }, { in: 'header' }]],
  ])('%s fails start-up', (_what, tokenSources) => {
    expect(() => resolveOptionsForTests({ ...base, tokenSources: tokenSources as never })).toThrow(IntrospectionConfigurationError);
  });

  it('microservice.token must name a place', () => {
    expect(() => resolveOptionsForTests({ ...base, microservice: { token: { in: 'body' } as never } })).toThrow(/microservice.token/);
  });

  it('the spelled-out default keeps the Authorization-only fast path', () => {
    expect(resolveOptionsForTests({ ...base, tokenSources: [{ in: 'header' }] }).tokenSources).toBeUndefined();
    expect(capturedLogs).toBeDefined();
  });
});
