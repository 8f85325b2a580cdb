// Review of issue 27: operator mistakes that ForwardAuthModule accepts at start-up and that then leave a location
// weaker than declared (the default requirements, any valid token, decide its paths). Each failed at 076551d:
// forRoot() returned a module and the location never applied. Now each is a start-up error saying what to change.
import { describe, expect, it } from '@jest/globals';
import { ForwardAuthModule, type ForwardAuthOptions } from '../../../lib/forward-auth/index.js';

describe('review 27: ForwardAuthModule refuses at start-up options that would silently weaken a location', () => {
  it.each<[string, unknown, RegExp]>([
    // A glob, as in Traefik's PathRegexp or Express routes: matched literally, it matches no real path.
    [
      'a prefix with a wildcard (/admin/*)',
      { locations: [{ prefix: '/admin/*', scopes: ['admin'] }] },
      /locations\[0\]\.prefix: '\/admin\/\*' holds \*: prefixes are plain strings, not globs/,
    ],
    ['a prefix with a glob (/api/**/admin)', { locations: [{ prefix: '/api/**/admin', scopes: ['admin'] }] }, /locations\[0\]\.prefix: .* not globs/],
    // The query is never part of the matched path: this prefix can never match.
    [
      'a prefix with a query (/admin?debug)',
      { locations: [{ prefix: '/admin?debug', scopes: ['admin'] }] },
      /holds \? or #: the query and fragment are never part/,
    ],
    ['a prefix with a fragment (/admin#top)', { locations: [{ prefix: '/admin#top', scopes: ['admin'] }] }, /holds \? or #/],
    ['a prefix with a ; (/admin;x)', { locations: [{ prefix: '/admin;x', scopes: ['admin'] }] }, /holds ;: paths holding ; are refused/],
    ['a percent-encoded prefix (/caf%C3%A9/)', { locations: [{ prefix: '/caf%C3%A9/', scopes: ['admin'] }] }, /holds %: paths are matched decoded/],
    ['a prefix with whitespace (/admin /)', { locations: [{ prefix: '/admin /', scopes: ['admin'] }] }, /holds whitespace or a control character/],
    ['a prefix with a control character', { locations: [{ prefix: '/admin\t/', scopes: ['admin'] }] }, /holds whitespace or a control character/],
    ['a prefix without a leading /', { locations: [{ prefix: 'admin/', scopes: ['admin'] }] }, /'admin\/' must start with \//],
    // Options read from JSON or YAML (no TypeScript excess-property check): a misspelt requirement is no requirement.
    [
      'a misspelt requirement (scope instead of scopes)',
      { locations: [{ prefix: '/admin/', scope: ['admin'] }] },
      /locations\[0\]: unknown key `scope`: did you mean `scopes`\?/,
    ],
    [
      'a misspelt requirement in defaultRequirements',
      { defaultRequirements: { anyScope: ['read'] } },
      /defaultRequirements: unknown key `anyScope`: did you mean `anyScopes`\?/,
    ],
    [
      'a misspelt option (location instead of locations)',
      { location: [{ prefix: '/admin/', scopes: ['admin'] }] },
      /options: unknown key `location`: did you mean `locations`\?/,
    ],
    [
      'an unknown key with no near match',
      { locations: [{ prefix: '/admin/', mustHave: ['admin'] }] },
      /unknown key `mustHave`: the keys are `prefix`, `scopes`/,
    ],
    // `'true'` from an environment variable: not `true`, so no DPoP is required.
    [
      'requireDpop that is not a boolean',
      { locations: [{ prefix: '/pay/', requireDpop: 'true' }] },
      /locations\[0\]\.requireDpop: true or false; got 'true' \(a string\)/,
    ],
    [
      'scopes as one string',
      { locations: [{ prefix: '/admin/', scopes: 'admin' }] },
      /locations\[0\]\.scopes: a list of names such as \['admin'\] \(strings only\); got 'admin' \(a string\)/,
    ],
    [
      'a scope list holding a non-string',
      { defaultRequirements: { anyRoles: ['ops', 7] } },
      /defaultRequirements\.anyRoles: a list of names .* got \["ops",7\] \(a list\)/,
    ],
    ['claims as a list', { locations: [{ prefix: '/t/', claims: ['tenant'] }] }, /locations\[0\]\.claims: an object of claim name/],
    [
      'a location audience in defaultRequirements',
      { defaultRequirements: { audience: 'https://x' } },
      /defaultRequirements: unknown key `audience`: a location setting/,
    ],
    ['locations that is not a list', { locations: { prefix: '/admin/' } }, /locations: a list of locations/],
  ])('%s: start-up error saying what to change', (_what, options, message) => {
    expect(() => ForwardAuthModule.forRoot(options as ForwardAuthOptions)).toThrow(message);
  });

  it('all shape problems are reported at once, with the ones the other checks find', () => {
    expect(() =>
      ForwardAuthModule.forRoot({ location: [], locations: [{ prefix: '/a*', scope: ['x'] }], trustedProxies: ['nope'] } as unknown as ForwardAuthOptions),
    ).toThrow(/options: unknown key `location`.*\n.*trustedProxies.*\n.*locations\[0\]: unknown key `scope`.*\n.*locations\[0\]\.prefix: '\/a\*' holds \*/);
  });

  it('valid options with every requirement key still start', () => {
    expect(() =>
      ForwardAuthModule.forRoot({
        locations: [
          { prefix: '/admin/', scopes: ['admin'], anyScopes: ['a', 'b'], roles: ['ops'], anyRoles: ['x'], claims: { tenant: 'acme' }, requireDpop: true },
          { prefix: '/health', public: true },
          { prefix: '/café/', requireIntrospection: true, anyClaims: { tier: ['gold'] } },
        ],
        defaultRequirements: { scopes: ['read'] },
        upstreamToken: undefined,
      }),
    ).not.toThrow();
  });
});
