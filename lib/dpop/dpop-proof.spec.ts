import { describe, expect, it } from '@jest/globals';
import { checkBinding } from '../client/introspection-response.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { DpopNonces, normalizeHtu } from './dpop-proof.js';

const active = (claims: Record<string, unknown>) => ({ active: true, scopes: [], ...claims }) as unknown as ActiveIntrospectionResult;

describe('normalizeHtu (RFC 9449 §4.3 step 9)', () => {
  it.each([
    ['HTTPS://API.Example.com:443/a/./b/../c?x=1#f', 'https://api.example.com/a/c'],
    ['http://127.0.0.1:80/orders', 'http://127.0.0.1/orders'],
    ['https://api.example.com/%7e%2f', 'https://api.example.com/%7E%2F'],
  ])('%s → %s', (input, expected) => expect(normalizeHtu(input)).toBe(expected));
  it.each(['not a url', 'ftp://x/y', 'javascript:alert(1)', ''])('never matches %p', (input) => expect(normalizeHtu(input)).toBeUndefined());
});

describe('DpopNonces', () => {
  const nonces = new DpopNonces('s'.repeat(32), 1000);
  it('a nonce is good in its period and the next, not after, and only with the same secret', () => {
    const n = nonces.current(10_500);
    expect(nonces.isValid(n, 10_999)).toBe(true);
    expect(nonces.isValid(n, 11_999)).toBe(true);
    expect(nonces.isValid(n, 12_000)).toBe(false);
    expect(new DpopNonces('t'.repeat(32), 1000).isValid(n, 10_500)).toBe(false);
    expect(nonces.isValid(undefined, 10_500)).toBe(false);
    expect(nonces.isValid('x'.repeat(1000), 10_500)).toBe(false);
  });
});

describe('checkBinding (RFC 9449 §7.1, RFC 8705 §3)', () => {
  it.each([
    ['plain token as Bearer', {}, undefined, undefined],
    ['plain token under DPoP', {}, { scheme: 'dpop', dpopJkt: 'k' }, 'not_dpop_bound'],
    ['token_type DPoP as Bearer', { token_type: 'DPoP' }, undefined, 'sender_constrained'],
    ['cnf.jkt as Bearer', { cnf: { jkt: 'k' } }, { scheme: 'bearer' }, 'sender_constrained'],
    ['cnf.jkt, proof by that key', { cnf: { jkt: 'k' } }, { scheme: 'dpop', dpopJkt: 'k' }, undefined],
    ['cnf.jkt, proof by another key', { cnf: { jkt: 'k' } }, { scheme: 'dpop', dpopJkt: 'other' }, 'dpop_key_mismatch'],
    ['token_type DPoP without cnf, under DPoP', { token_type: 'DPoP' }, { scheme: 'dpop', dpopJkt: 'k' }, 'not_dpop_bound'],
    ['x5t#S256 with that certificate', { cnf: { 'x5t#S256': 'c' } }, { scheme: 'bearer', certificateThumbprint: 'c' }, undefined],
    ['x5t#S256 without a certificate', { cnf: { 'x5t#S256': 'c' } }, { scheme: 'bearer' }, 'certificate_mismatch'],
    ['x5t#S256 with another certificate', { cnf: { 'x5t#S256': 'c' } }, { scheme: 'bearer', certificateThumbprint: 'd' }, 'certificate_mismatch'],
    ['both bindings, both proven', { cnf: { jkt: 'k', 'x5t#S256': 'c' } }, { scheme: 'dpop', dpopJkt: 'k', certificateThumbprint: 'c' }, undefined],
    ['both bindings, certificate missing', { cnf: { jkt: 'k', 'x5t#S256': 'c' } }, { scheme: 'dpop', dpopJkt: 'k' }, 'certificate_mismatch'],
    ['cnf null', { cnf: null }, undefined, 'sender_constrained'],
    ['cnf {}', { cnf: {} }, undefined, 'sender_constrained'],
    ['cnf.jwk (not checkable here)', { cnf: { jwk: {} } }, { scheme: 'bearer' }, 'sender_constrained'],
    ['cnf.jkt not a string', { cnf: { jkt: 1 } }, { scheme: 'dpop', dpopJkt: '1' }, 'not_dpop_bound'],
  ] as const)('%s', (_name, claims, presentation, expected) => {
    expect(checkBinding(active(claims), presentation as never)).toBe(expected);
  });
});
