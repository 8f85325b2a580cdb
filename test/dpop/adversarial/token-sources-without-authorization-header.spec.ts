// Adversarial review of token sources vs. DPoP at start-up (round 17b; was attack17b-startup).
import { describe, expect, it } from '@jest/globals';
import { resolveOptionsForTests } from '../../support/token-sources.js';

/**
 * ATTACK (careless operator, review of issue 17 part 4): `tokenSources` that drops the Authorization header while
 * DPoP is configured. DPoP tokens travel only as `Authorization: DPoP <token>`; a cookie or custom header is read as a
 * bearer token, so with `dpop.required` every request is refused, and with DPoP merely on every DPoP client breaks.
 * Nothing says so at start-up ("clear errors at start-up, each saying what to change").
 */
describe('token sources vs. DPoP at start-up', () => {
  const base = { introspectionEndpoint: 'https://as.example/introspect', clientId: 'api', clientSecret: 's', audience: 'api' };

  it('dpop.required with tokenSources lacking the Authorization header is a start-up error', () => {
    expect(() =>
      resolveOptionsForTests({
        ...base,
        dpop: { required: true, externalOrigin: 'https://api.example' },
        tokenSources: [{ in: 'cookie', name: 'access_token' }],
      }),
    ).toThrow(/dpop|DPoP/);
  });

  it('DPoP configured with tokenSources lacking the Authorization header warns', () => {
    const resolved = resolveOptionsForTests({
      ...base,
      dpop: { externalOrigin: 'https://api.example' },
      tokenSources: [{ in: 'header', name: 'X-Api-Token' }],
    });
    expect(resolved.warnings.join('\n')).toMatch(/DPoP/);
  });

  it('websocket.tokenSources functions are refused in the HTTP list; query needs the flag', () => {
    expect(() => resolveOptionsForTests({ ...base, tokenSources: [(() => 'x') as never] })).toThrow(/only `websocket.tokenSources` takes functions/);
    expect(() => resolveOptionsForTests({ ...base, websocket: { tokenSources: [{ in: 'query' } as never] } })).toThrow(/dangerouslyAllowTokenInUrl/);
  });
});
