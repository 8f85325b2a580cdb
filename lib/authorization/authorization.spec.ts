import { describe, expect, it } from '@jest/globals';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { IntrospectionModuleOptions } from '../interfaces/introspection-module-options.interface.js';
import { resolveOptions } from '../options/resolve-options.js';
import { RequireAuthentication } from '../decorators/require-authentication.decorator.js';
import { AnyRole, Roles } from '../decorators/roles.decorator.js';
import { AnyClaim, RequireClaims } from '../decorators/require-claims.decorator.js';
import { ProtectedResource } from '../decorators/protected-resource.decorator.js';
import { protectedResourceMetadataUrl, withResourceMetadata } from '../metadata/resource-metadata.js';
import { RoleExtractor, RoleMappers } from './role-mappers.js';
import { evaluateRouteChecks, type RouteChecks } from '../guard/route-checks.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';

const base: IntrospectionModuleOptions = { issuer: 'https://as.example.com', clientId: 'api', clientSecret: 's3cret' };

function problems(options: unknown): string {
  try {
    resolveOptions(options as IntrospectionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(IntrospectionConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('RFC 9728 options', () => {
  it('derives metadata URLs by the §3.1 insertion rule', () => {
    expect(protectedResourceMetadataUrl('https://api.example.com')).toBe('https://api.example.com/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://api.example.com/')).toBe('https://api.example.com/.well-known/oauth-protected-resource');
    expect(protectedResourceMetadataUrl('https://api.example.com:8443/tenant/mcp')).toBe(
      'https://api.example.com:8443/.well-known/oauth-protected-resource/tenant/mcp',
    );
  });

  it('the resource is the default audience; an explicit audience wins; the issuer is the default authorization server', () => {
    const o = resolveOptions({ ...base, resourceMetadata: [{ resource: 'https://api.example.com/a' }, { resource: 'https://api.example.com/b' }] });
    expect(o.audience).toEqual(['https://api.example.com/a', 'https://api.example.com/b']);
    expect(o.audienceExplicit).toBe(false);
    expect(o.resourceMetadata[0]).toMatchObject({ authorizationServers: ['https://as.example.com'], metadataPath: '/.well-known/oauth-protected-resource/a' });
    const explicit = resolveOptions({ ...base, audience: 'orders', resourceMetadata: { resource: 'https://api.example.com' } });
    expect(explicit.audience).toEqual(['orders']);
    expect(explicit.audienceExplicit).toBe(true);
  });

  it('refuses unusable resources and fields at start-up, each with its fix', () => {
    for (const [resource, why] of [
      ['http://api.example.com', 'must use https://'],
      ['https://api.example.com/mcp#frag', 'query or fragment'],
      ['https://api.example.com/mcp?x=1', 'query or fragment'],
      ['/mcp', 'is not a URL'],
      ['https://user:pw@api.example.com', 'holds credentials'],
      [undefined, 'is missing'],
    ] as const) {
      expect(problems({ ...base, resourceMetadata: { resource } })).toContain(why);
    }
    expect(() => resolveOptions({ ...base, resourceMetadata: { resource: 'http://127.0.0.1:3000/mcp' } })).not.toThrow();
    expect(() => resolveOptions({ ...base, resourceMetadata: { resource: 'http://localhost/mcp' } })).not.toThrow();
    const message = problems({
      ...base,
      resourceMetadata: [
        {
          resource: 'https://a.example.com/x',
          scopesSupported: ['has space'],
          bearerMethodsSupported: ['cookie'],
          cacheMaxAgeSeconds: -1,
          additionalMetadata: { resource: 'x' },
        },
        { resource: 'https://b.example.com/x' },
      ],
    });
    expect(message).toContain('resourceMetadata[0].scopesSupported');
    expect(message).toContain('resourceMetadata[0].bearerMethodsSupported');
    expect(message).toContain('resourceMetadata[0].cacheMaxAgeSeconds');
    expect(message).toContain('cannot set `resource`');
    expect(problems({ ...base, resourceMetadata: [{ resource: 'https://a.example.com/x' }, { resource: 'https://b.example.com/x' }] })).toContain(
      'same metadata path',
    );
    expect(problems({ ...base, resourceMetadata: [] })).toContain('empty list');
    expect(problems({ ...base, roles: { mapper: 'realm_access' } })).toContain('`roles.mapper`');
  });

  it('appends resource_metadata to bare and parameterised challenges', () => {
    expect(withResourceMetadata('Bearer', 'https://x/.well-known/oauth-protected-resource')).toBe(
      'Bearer resource_metadata="https://x/.well-known/oauth-protected-resource"',
    );
    expect(withResourceMetadata('DPoP algs="ES256"', 'https://x/m')).toBe('DPoP algs="ES256", resource_metadata="https://x/m"');
  });
});

describe('decorator arguments are checked when the class is defined (start-up)', () => {
  it.each([
    ['@RequireAuthentication({})', () => RequireAuthentication({})],
    ['@RequireAuthentication({ acrValues: [] })', () => RequireAuthentication({ acrValues: [] })],
    ['@RequireAuthentication({ acrValues: ["a b"] })', () => RequireAuthentication({ acrValues: ['a b'] })],
    ['@RequireAuthentication({ acrValues: "gold" })', () => RequireAuthentication({ acrValues: 'gold' as never })],
    ['@RequireAuthentication({ maxAge: -1 })', () => RequireAuthentication({ maxAge: -1 })],
    ['@RequireAuthentication({ maxAge: 1.5 })', () => RequireAuthentication({ maxAge: 1.5 })],
    ['@RequireAuthentication({ max_age: 5 })', () => RequireAuthentication({ max_age: 5 } as never)],
    ['@Roles()', () => Roles()],
    ['@AnyRole("")', () => AnyRole('')],
    ['@Roles(1)', () => Roles(1 as never)],
    ['@RequireClaims({})', () => RequireClaims({})],
    ['@RequireClaims({ tenant: {} })', () => RequireClaims({ tenant: {} as never })],
    ['@RequireClaims({ tenant: [] })', () => RequireClaims({ tenant: [] })],
    ['@AnyClaim({ tenant: null })', () => AnyClaim({ tenant: null as never })],
    ['@RequireClaims({ ["__proto__"]: "x" })', () => RequireClaims({ ['__proto__']: 'x' })],
    ['@ProtectedResource("")', () => ProtectedResource('')],
    ['RoleMappers.keycloakClient("")', () => RoleMappers.keycloakClient('')],
  ])('%s throws', (_name, make) => {
    expect(make).toThrow();
  });
});

describe('evaluateRouteChecks (pure)', () => {
  const roles = new RoleExtractor([RoleMappers.roles()], () => undefined);
  const result = (claims: Record<string, unknown>) => ({ active: true, scopes: [], ...claims }) as ActiveIntrospectionResult;
  const checks = (c: Partial<RouteChecks>): RouteChecks => ({ allScopes: [], anyScopes: [], allRoles: [], anyRoles: [], allClaims: [], anyClaims: [], ...c });

  it('auth_time: leeway both ways, NaN/Infinity/strings refused', () => {
    const stepUp = checks({ stepUp: { maxAge: 60 } });
    const now = 1_000_000;
    expect(evaluateRouteChecks(stepUp, result({ auth_time: now - 65 }), roles, 5, now)).toBeUndefined();
    expect(evaluateRouteChecks(stepUp, result({ auth_time: now - 66 }), roles, 5, now)?.error).toBe('insufficient_user_authentication');
    expect(evaluateRouteChecks(stepUp, result({ auth_time: now + 5 }), roles, 5, now)).toBeUndefined();
    for (const auth_time of [now + 6, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, `${now}`, [now]]) {
      expect(evaluateRouteChecks(stepUp, result({ auth_time }), roles, 5, now)).toMatchObject({ status: 401, maxAge: 60 });
    }
  });

  it('maxAge N means N whole seconds: the fraction of the current second does not count', () => {
    const stepUp = checks({ stepUp: { maxAge: 1 } });
    expect(evaluateRouteChecks(stepUp, result({ auth_time: 1_000_000 }), roles, 0, 1_000_001.9)).toBeUndefined();
    expect(evaluateRouteChecks(stepUp, result({ auth_time: 1_000_000 }), roles, 0, 1_000_002)?.error).toBe('insufficient_user_authentication');
  });

  it('order: audience (401), step-up (401), then scopes, roles, claims (403)', () => {
    const all = checks({
      audience: 'https://a.example',
      stepUp: { acrValues: ['gold'] },
      allScopes: ['write'],
      allRoles: ['admin'],
      allClaims: [['tenant', 'acme']],
    });
    const refusal = (claims: Record<string, unknown>, scopes: string[] = []) => evaluateRouteChecks(all, { ...result(claims), scopes }, roles, 5)?.reason;
    expect(refusal({})).toBe('audience_mismatch');
    expect(refusal({ aud: ['https://a.example'] })).toBe('insufficient_user_authentication');
    expect(refusal({ aud: 'https://a.example', acr: 'gold' })).toBe('insufficient_scope');
    expect(refusal({ aud: 'https://a.example', acr: 'gold' }, ['write'])).toBe('insufficient_roles');
    expect(refusal({ aud: 'https://a.example', acr: 'gold', roles: ['admin'] }, ['write'])).toBe('insufficient_claims');
    expect(refusal({ aud: 'https://a.example', acr: 'gold', roles: ['admin'], tenant: 'acme' }, ['write'])).toBeUndefined();
    expect(evaluateRouteChecks(checks({ anyScopes: [['a', 'b']] }), result({}), roles, 5)).toMatchObject({
      status: 403,
      requiredScopes: ['a', 'b'],
      anyOf: true,
    });
  });

  it('roles from a result with a polluted prototype are not roles', () => {
    const polluted = Object.create({ roles: ['admin'] });
    polluted.active = true;
    polluted.scopes = [];
    expect(evaluateRouteChecks(checks({ allRoles: ['admin'] }), polluted, roles, 5)).toMatchObject({ status: 403, reason: 'insufficient_roles' });
  });

  it('a mapper returning junk (string, number, object, throwing iterator) yields no roles', () => {
    const errors: unknown[] = [];
    const junk = new RoleExtractor(
      [
        () => 'admin' as never,
        () => 42 as never,
        () => ({ admin: true }) as never,
        () => ({
          *[Symbol.iterator]() {
            yield 'ok';
            throw new Error('boom');
          },
        }),
      ],
      (e) => errors.push(e),
    );
    expect([...junk.rolesOf(result({}))]).toEqual(['ok']);
    expect(errors).toHaveLength(1);
  });
});
