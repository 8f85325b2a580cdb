import { describe, expect, it } from '@jest/globals';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { claimText, identityHeaderMap, identityHeaders, sanitiseHeaderValue } from './upstream-headers.js';

const result = (claims: Record<string, unknown>): ActiveIntrospectionResult => ({
  active: true,
  scopes: String(claims.scope ?? '')
    .split(' ')
    .filter(Boolean),
  ...claims,
});

describe('identity header values', () => {
  it.each([
    ['CR LF (header injection)', 'eve\r\nX-Auth-Scopes: admin'],
    ['a bare LF', 'eve\nx'],
    ['NUL', 'eve\u0000'],
    ['TAB', 'a\tb'],
    ['DEL', 'a\u007f'],
    ['leading whitespace', ' admin'],
    ['trailing whitespace', 'admin '],
    ['empty', ''],
    ['a lone surrogate', 'a\ud800b'],
  ])('%s: the header is not sent at all', (_what, value) => {
    expect(sanitiseHeaderValue(value, 1024)).toBeUndefined();
  });

  it('non-ASCII and % are percent-encoded (UTF-8): decodeURIComponent gives the claim back exactly', () => {
    for (const value of ['José', '50% off', 'Zoë %41 😀']) {
      const sent = sanitiseHeaderValue(value, 1024)!;
      expect(sent).toMatch(/^[\x20-\x7e]+$/);
      expect(decodeURIComponent(sent)).toBe(value);
    }
  });

  it('a value longer than maxHeaderBytes once encoded is not sent (never truncated into another identity)', () => {
    expect(sanitiseHeaderValue('a'.repeat(1024), 1024)).toBe('a'.repeat(1024));
    expect(sanitiseHeaderValue('a'.repeat(1025), 1024)).toBeUndefined();
    expect(sanitiseHeaderValue('é'.repeat(200), 1024)).toBeUndefined(); // 200 × "%C3%A9" = 1,200 bytes
  });

  it('a value that contains the access token is not sent', () => {
    expect(sanitiseHeaderValue('x-secret-token-x', 1024, 'secret-token')).toBeUndefined();
  });

  it('claims as text: scopes space-separated, arrays space-separated, objects as JSON, inherited properties never', () => {
    const r = result({ scope: 'read write', aud: ['a', 'b'], exp: 1700000000, realm: { roles: ['x'] }, ok: true, nested: [{}] });
    expect(claimText(r, 'scope')).toBe('read write');
    expect(claimText(r, 'aud')).toBe('a b');
    expect(claimText(r, 'exp')).toBe('1700000000');
    expect(claimText(r, 'realm')).toBe('{"roles":["x"]}');
    expect(claimText(r, 'ok')).toBe('true');
    expect(claimText(r, 'nested')).toBeUndefined();
    expect(claimText(r, 'constructor')).toBeUndefined();
  });
});

describe('the identity header map', () => {
  it('defaults, renamed, switched off and added headers', () => {
    const map = identityHeaderMap({ 'X-Auth-Username': false, 'X-User': 'username', 'x-auth-subject': 'sub', 'X-Tenant': 'tenant' });
    expect(map).toEqual([
      ['x-auth-subject', 'sub'],
      ['X-Auth-Scopes', 'scope'],
      ['X-Auth-Client-Id', 'client_id'],
      ['X-Auth-Expires', 'exp'],
      ['X-User', 'username'],
      ['X-Tenant', 'tenant'],
    ]);
    const headers = identityHeaders(map, result({ sub: 'u\r\n1', scope: 'read', client_id: 'app', username: 'alice' }), 1024, 'tok');
    expect(headers).toEqual({ 'X-Auth-Scopes': 'read', 'X-Auth-Client-Id': 'app', 'X-User': 'alice' });
  });

  it.each([
    ['Content-Length (frames the response)', 'Content-Length'],
    ['Set-Cookie', 'Set-Cookie'],
    ['a name with a space', 'X Auth'],
    ['a name with CR LF', 'X-Auth\r\nX'],
  ])('%s cannot be an identity header', (_what, name) => {
    expect(() => identityHeaderMap({ [name]: 'sub' })).toThrow();
  });
});
