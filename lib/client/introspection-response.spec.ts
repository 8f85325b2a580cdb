import { describe, expect, it } from '@jest/globals';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import { parseIntrospectionResponse, validateClaims, type IntrospectionResponse } from './introspection-response.js';
import { parseRetryAfter } from './introspection.client.js';
import { discoveryUrls } from './discovery.js';

const JSON_CT = 'application/json; charset=utf-8';
const now = 1_800_000_000;
const policy = { clockSkewSeconds: 5 };
const parse = (body: string, ct = JSON_CT) => parseIntrospectionResponse(body, ct, 5);

describe('parseIntrospectionResponse (RFC 7662 §2.2, strict)', () => {
  it('accepts a JSON object with a boolean active, keeping unknown claims', () => {
    expect(parse('{"active":true,"scope":"a b","ext":{"x":1}}')).toEqual({ active: true, scope: 'a b', ext: { x: 1 } });
    expect(parse('{"active":false}', 'application/token-introspection+json')).toEqual({ active: false });
  });

  it.each([
    ['{"active":"true"}', JSON_CT],
    ['{"active":1}', JSON_CT],
    ['{}', JSON_CT],
    ['[]', JSON_CT],
    ['null', JSON_CT],
    ['<html></html>', 'text/html'],
    ['{"active":true}', 'text/plain'],
    ['{"active":tr', JSON_CT],
    ['{"active":true,"exp":"soon"}', JSON_CT],
    ['{"active":true,"scope":["a"]}', JSON_CT],
    ['{"active":true,"aud":[1]}', JSON_CT],
  ])('treats %s (%s) as the server misbehaving, never as a verdict on the token', (body, ct) => {
    expect(() => parse(body, ct)).toThrow(AuthorizationServerUnavailableError);
    try {
      parse(body, ct);
    } catch (e) {
      expect((e as AuthorizationServerUnavailableError).reason).toBe('invalid_response');
    }
  });
});

describe('validateClaims', () => {
  const active = (claims: Record<string, unknown>) => ({ active: true, ...claims }) as IntrospectionResponse;

  it('derives scopes beside the RFC fields and freezes the result', () => {
    const r = validateClaims(active({ scope: 'read  write', sub: 'u1' }), policy, now);
    expect(r).toMatchObject({ active: true, scope: 'read  write', sub: 'u1', scopes: ['read', 'write'] });
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('applies exp, nbf and iat with the clock-skew leeway', () => {
    expect(validateClaims(active({ exp: now - 4 }), policy, now).active).toBe(true);
    expect(validateClaims(active({ exp: now - 6 }), policy, now)).toEqual({ active: false, reason: 'expired' });
    expect(validateClaims(active({ nbf: now + 6 }), policy, now)).toEqual({ active: false, reason: 'not_yet_valid' });
    expect(validateClaims(active({ iat: now + 60 }), policy, now)).toEqual({ active: false, reason: 'issued_in_future' });
  });

  it('checks audience (any of the configured ones) and issuer', () => {
    const p = { ...policy, audience: ['a', 'b'], expectedIssuer: 'https://as' };
    expect(validateClaims(active({ aud: ['x', 'b'], iss: 'https://as' }), p, now).active).toBe(true);
    expect(validateClaims(active({ aud: 'x', iss: 'https://as' }), p, now)).toEqual({ active: false, reason: 'audience_mismatch' });
    expect(validateClaims(active({ iss: 'https://as' }), p, now)).toEqual({ active: false, reason: 'audience_mismatch' });
    expect(validateClaims(active({ aud: 'a' }), p, now)).toEqual({ active: false, reason: 'issuer_mismatch' });
  });

  it('maps active: false to the inactive singleton', () => {
    expect(validateClaims({ active: false }, policy, now)).toBe(validateClaims({ active: false }, policy, now));
  });
});

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('reads delay-seconds and HTTP-dates, at least 1 s', () => {
    expect(parseRetryAfter('120')).toBe(120);
    expect(parseRetryAfter('0')).toBe(1);
    expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(30);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('discoveryUrls', () => {
  it('tries RFC 8414 (path inserted) first, then OpenID Connect (path appended)', () => {
    expect(discoveryUrls('https://as.example.com')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server',
      'https://as.example.com/.well-known/openid-configuration',
    ]);
    expect(discoveryUrls('https://as.example.com/realms/acme/')).toEqual([
      'https://as.example.com/.well-known/oauth-authorization-server/realms/acme',
      'https://as.example.com/realms/acme/.well-known/openid-configuration',
    ]);
  });
});
