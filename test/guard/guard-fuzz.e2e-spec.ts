import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { extractBearer } from '../../lib/index.js';
import { ADAPTERS, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';

const RUNS = 1000;
// Header values a real client can send: visible ASCII, space and tab (fetch refuses CR, LF, NUL).
const headerChar = fc.constantFrom(...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)), '\t');
const anyText = fc.string({ unit: headerChar, maxLength: 80 });
const b64 = fc.string({ unit: fc.constantFrom(...'ABCabc0129-._~+/'.split('')), minLength: 1, maxLength: 60 });
const authorization = fc.oneof(
  anyText,
  fc
    .tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer:', 'Bearer\t'), fc.constantFrom(' ', '  ', '', '\t'), anyText)
    .map((p) => p.join('')),
  fc.tuple(fc.constantFrom('Bearer ', 'bearer  '), b64, fc.constantFrom('', '=', '==', ' x', '$', ' ')).map((p) => p.join('')),
  fc.tuple(fc.constantFrom('Bearer '), fc.integer({ min: 4000, max: 4200 })).map(([s, n]) => s + 'a'.repeat(n)),
);

describe.each(ADAPTERS)('Authorization header fuzzing over %s (%d cases)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(adapter, { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic }));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it(`never answers 500, and never calls the AS for malformed input (${RUNS} cases)`, async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(authorization, async (value) => {
        const before = as.introspectionRequests;
        const res = await fetch(`${url}/orders`, { headers: { authorization: value } });
        await res.arrayBuffer();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        // What the server received: fetch and the HTTP parser strip surrounding whitespace.
        const expected = extractBearer(value.trim(), 4096);
        expect([400, 401]).toContain(res.status);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        if (expected.kind === 'malformed') {
          expect(res.status).toBe(400);
          expect(as.introspectionRequests).toBe(before);
        } else if (expected.kind === 'missing' || expected.kind === 'other_scheme') {
          // No token, or another scheme (RFC 6750 §3.1): a bare challenge without an error code.
          expect(res.status).toBe(401);
          expect(res.headers.get('www-authenticate')).toBe('Bearer');
          expect(as.introspectionRequests).toBe(before);
        } else {
          expect(res.status).toBe(401); // well-formed but unknown to the AS
          expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`${adapter}: statuses over ${RUNS} fuzzed headers: ${JSON.stringify(Object.fromEntries(seen))}`);
    expect(seen.get(400)).toBeGreaterThan(100);
    expect(seen.get(401)).toBeGreaterThan(100);
    // A bounded count of real HTTP calls (RUNS); on a loaded 2-core CI machine they can take longer than Jest's 30 s.
  }, 120_000);
});
