import { describe, expect, it } from '@jest/globals';
import { ForwardedRequestError, forwardedRequest, normalisePath } from './forwarded-request.js';

describe('the forwarded path locations are matched on', () => {
  it.each([
    ['/admin', '/admin'],
    ['/ADMIN/Users', '/admin/users'],
    ['/%61dmin', '/admin'],
    ['/admin/', '/admin/'],
    ['/a%20b', '/a b'],
    ['/caf%C3%A9', '/café'],
  ])('%s is matched as %s (decoded once, lower-cased)', (raw, expected) => {
    expect(normalisePath(raw)).toBe(expected);
  });

  it.each([
    ['a dot-dot segment', '/public/../admin'],
    ['an encoded dot-dot segment', '/public/%2e%2e/admin'],
    ['a half-encoded dot-dot segment', '/public/.%2E/admin'],
    ['a dot segment', '/./admin'],
    ['an encoded slash', '/public%2f..%2fadmin'],
    ['an encoded slash (upper case)', '/admin%2F..'],
    ['an encoded backslash', '/public%5c..%5cadmin'],
    ['a backslash', '/public\\..\\admin'],
    ['an empty segment', '//admin'],
    ['an empty segment inside', '/public//admin'],
    ['double encoding', '/%252e%252e/admin'],
    ['an encoded NUL', '/admin%00.png'],
    ['an encoded CR LF', '/a%0d%0aX-Auth-Subject:%20x'],
    ['invalid UTF-8', '/%c3%28'],
    ['a relative path', 'admin'],
    ['a trailing dot-dot', '/admin/..'],
    ['a ; path parameter (servlet containers route /admin;x/ to /admin/)', '/admin;jsessionid=x/'],
    ['a ; after a dot-dot (..;/)', '/public/..;/admin/'],
    ['an encoded ; (lower case)', '/admin%3bx/'],
    ['an encoded ; (upper case)', '/admin%3Bx/'],
    ['a ; at the end', '/admin;'],
  ])('%s is refused, never normalised into a guess (%s)', (_what, raw) => {
    expect(() => normalisePath(raw)).toThrow(ForwardedRequestError);
  });
});

describe('the original request read from a decision request', () => {
  const decision = (headers: Record<string, string>, url = '/auth/decision', method = 'GET') => ({
    method,
    url,
    headers,
    rawHeaders: Object.entries(headers).flat(),
    socket: { remoteAddress: '127.0.0.1' },
  });

  it("'x-forwarded': method and URI from X-Forwarded-*, the query kept out of the path, htu from the forwarded scheme and host", () => {
    const view = forwardedRequest(
      decision({ 'x-forwarded-method': 'post', 'x-forwarded-uri': '/Orders/1?x=/admin', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com' }),
      'x-forwarded',
      '/auth/decision',
      undefined,
      true,
    );
    expect(view).toMatchObject({ method: 'POST', path: '/orders/1', uri: 'https://api.example.com/Orders/1', url: '/Orders/1?x=/admin' });
  });

  it("'x-forwarded' ignores X-Original-URI (another convention a client could slip through)", () => {
    const view = forwardedRequest(decision({ 'x-original-uri': '/public', 'x-forwarded-uri': '/admin' }), 'x-forwarded', '/auth/decision', undefined, true);
    expect(view.path).toBe('/admin');
  });

  it('two X-Forwarded-Uri headers (a client’s and the gateway’s) are refused', () => {
    const request = decision({});
    request.rawHeaders = ['X-Forwarded-Uri', '/public', 'x-forwarded-uri', '/admin'];
    request.headers = { 'x-forwarded-uri': '/public, /admin' };
    expect(() => forwardedRequest(request, 'x-forwarded', '/auth/decision', undefined, true)).toThrow('exactly one');
  });

  it("'path': the path below the decision path (after a global prefix too) and the request's own method", () => {
    const view = forwardedRequest(decision({ host: 'api.example.com' }, '/api/auth/decision/admin/x?y=1', 'DELETE'), 'path', '/auth/decision', undefined, true);
    expect(view).toMatchObject({ method: 'DELETE', path: '/admin/x', uri: 'http://api.example.com/admin/x' });
  });

  it('without an original URI: refused when locations are declared, `/` otherwise; externalOrigin pins the htu', () => {
    expect(() => forwardedRequest(decision({}), 'x-original', '/auth/decision', undefined, true)).toThrow('x-original-uri');
    expect(forwardedRequest(decision({}), 'x-original', '/auth/decision', 'https://edge.example', false)).toMatchObject({
      path: '/',
      uri: 'https://edge.example/',
    });
  });

  it("the client's address for the fair queue: the last X-Forwarded-For value (what the trusted gateway saw), else the peer's", () => {
    const forwarded = decision({ 'x-forwarded-for': '203.0.113.9, 127.0.0.2', 'x-forwarded-uri': '/' });
    expect(forwardedRequest(forwarded, 'x-forwarded', '/auth/decision', undefined, true).ip).toBe('127.0.0.2');
    expect(forwardedRequest(decision({ 'x-forwarded-uri': '/' }), 'x-forwarded', '/auth/decision', undefined, true).ip).toBe('127.0.0.1');
  });

  it('a method that is no HTTP token is refused', () => {
    expect(() =>
      forwardedRequest(decision({ 'x-forwarded-method': 'GET /x', 'x-forwarded-uri': '/' }), 'x-forwarded', '/auth/decision', undefined, true),
    ).toThrow(ForwardedRequestError);
  });
});
