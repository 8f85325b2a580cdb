// Review of issue 27: operator mistakes that ForwardAuthModule accepts at start-up and that then leave a location
// weaker than declared (the default requirements, any valid token, decide its paths). Each failed at 076551d:
// forRoot() returned a module and the location never applied.
import { describe, expect, it } from '@jest/globals';
import { ForwardAuthModule, type ForwardAuthOptions } from '../../../lib/forward-auth/index.js';

describe('review 27: ForwardAuthModule refuses at start-up options that would silently weaken a location', () => {
  it.each<[string, unknown]>([
    // A glob, as in Traefik's PathRegexp or Express routes: matched literally, it matches no real path.
    ['a prefix with a wildcard (/admin/*)', { locations: [{ prefix: '/admin/*', scopes: ['admin'] }] }],
    ['a prefix with a glob (/api/**/admin)', { locations: [{ prefix: '/api/**/admin', scopes: ['admin'] }] }],
    // The query is never part of the matched path: this prefix can never match.
    ['a prefix with a query (/admin?debug)', { locations: [{ prefix: '/admin?debug', scopes: ['admin'] }] }],
    ['a prefix with a fragment (/admin#top)', { locations: [{ prefix: '/admin#top', scopes: ['admin'] }] }],
    // Options read from JSON or YAML (no TypeScript excess-property check): a misspelt requirement is no requirement.
    ['a misspelt requirement (scope instead of scopes)', { locations: [{ prefix: '/admin/', scope: ['admin'] }] }],
    ['a misspelt requirement in defaultRequirements', { defaultRequirements: { anyScope: ['read'] } }],
    ['a misspelt option (location instead of locations)', { location: [{ prefix: '/admin/', scopes: ['admin'] }] }],
    // `'true'` from an environment variable: not `true`, so no DPoP is required.
    ['requireDpop that is not a boolean', { locations: [{ prefix: '/pay/', requireDpop: 'true' }] }],
  ])('%s: start-up error', (_what, options) => {
    expect(() => ForwardAuthModule.forRoot(options as ForwardAuthOptions)).toThrow();
  });
});
