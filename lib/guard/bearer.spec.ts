import { describe, expect, it } from '@jest/globals';
import { randomInt } from 'node:crypto';
import { extractBearer } from './bearer.js';

/** The parser as it was before the `Bearer <token>` fast path: the fast path must answer exactly the same. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const DPOP = /^dpop +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]|$)/;
function reference(header: unknown, max: number, acceptDpop: boolean) {
  if (header === undefined || header === null || header === '') return { kind: 'missing' };
  if (typeof header !== 'string') return { kind: 'malformed', description: 'Send exactly one Authorization header.' };
  if (header.length > max + 16) return { kind: 'malformed', description: `The bearer token is longer than ${max} characters.` };
  if (acceptDpop && /^dpop(\s|$)/i.test(header)) {
    const dpop = DPOP.exec(header);
    if (!dpop) return { kind: 'malformed', description: 'The Authorization header must hold exactly one DPoP-bound token: Authorization: DPoP <token>.' };
    if (dpop[1].length > max) return { kind: 'malformed', description: `The access token is longer than ${max} characters.` };
    return { kind: 'token', token: dpop[1], scheme: 'dpop' };
  }
  const match = BEARER.exec(header);
  if (!match) {
    if (!/^bearer(\s|$)/i.test(header)) {
      if (SCHEME.test(header)) return { kind: 'other_scheme' };
      return { kind: 'malformed', description: 'The Authorization header must use the Bearer scheme: Authorization: Bearer <token>.' };
    }
    return { kind: 'malformed', description: 'The Authorization header must hold exactly one bearer token made of RFC 6750 b64token characters.' };
  }
  if (match[1].length > max) return { kind: 'malformed', description: `The bearer token is longer than ${max} characters.` };
  return { kind: 'token', token: match[1] };
}

describe('extractBearer', () => {
  const cases = [
    'Bearer abc',
    'Bearer  abc',
    'Bearer abc=',
    'Bearer abc==',
    'Bearer abc=d',
    'Bearer ',
    'Bearer',
    'Bearer\tabc',
    'Bearer abc ',
    'Bearer a b',
    'bearer abc',
    'BEARER abc',
    'Bearer abc\n',
    'Bearer a\u00e9',
    'Bearer ' + 'a'.repeat(20),
    'Bearer ' + 'a'.repeat(21),
    'Bearer =',
    'Bearer -._~+/',
    'DPoP abc',
    'dpop abc',
    'DPoP  abc',
    'DPoP',
    'Dpopx abc',
    'Basic abc',
    'Digest x=y',
    '@@@',
    'd',
    'Bearer ' + 'a'.repeat(40),
  ];
  it.each(
    cases.flatMap(
      (h) =>
        [
          [h, true],
          [h, false],
        ] as const,
    ),
  )('%j (DPoP accepted: %s) answers as before', (header, dpop) => {
    expect(extractBearer(header, 20, dpop)).toEqual(reference(header, 20, dpop));
  });

  it('answers as before on random headers', () => {
    const alphabet = 'Bb eEaArR dDpPoO=+/-._~\t,"\u00e9x1';
    for (let i = 0; i < 20_000; i++) {
      const prefix = ['Bearer ', 'bearer ', 'Bearer  ', 'DPoP ', '', 'Basic '][randomInt(6)];
      let header = prefix;
      for (let n = randomInt(25); n > 0; n--) header += alphabet[randomInt(alphabet.length)];
      const dpop = randomInt(2) === 1;
      expect(extractBearer(header, 20, dpop)).toEqual(reference(header, 20, dpop));
    }
  });
});
