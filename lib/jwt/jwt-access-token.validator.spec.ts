import { describe, expect, it } from '@jest/globals';
import { looksLikeJwt } from './jwt-access-token.validator.js';

describe('looksLikeJwt (which path a bearer token takes)', () => {
  it.each([
    ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', true],
    ['eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', true], // unsigned: still JWT-shaped, refused by local validation
    ['aiIIkk7UleZD4W1dH_Isi4iXUl1i-DhTKx2iD7c3qIz', false], // oidc-provider opaque token
    ['eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0', false], // two segments
    ['eyJhbGciOiJSUzI1NiJ9..c2ln', false], // empty payload
    ['eyJ.a.b.c', false], // JWE-like / four segments
    ['abc.def.ghi', false], // header is not a JSON object
  ])('%s → %s', (token, expected) => {
    expect(looksLikeJwt(token)).toBe(expected);
  });
});
