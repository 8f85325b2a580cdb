import { describe, expect, it } from '@jest/globals';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { IntrospectionModuleOptions } from '../interfaces/introspection-module-options.interface.js';
import { resolveOptions } from '../options/resolve-options.js';
import { compileTenantSelector, unverifiedIssuer } from './tenant-selector.js';

const tenants = {
  a: { issuer: 'https://a.example.com', clientId: 'api-a', clientSecret: 'secret-a', audience: 'https://api' },
  b: { introspectionEndpoint: 'https://b.example.com/introspect', clientId: 'api-b', clientSecret: 'secret-b', audience: 'https://api' },
};
const base: IntrospectionModuleOptions = { tenants, tenantResolver: { header: 'x-tenant' } };

function problems(options: unknown): string {
  try {
    resolveOptions(options as IntrospectionModuleOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(IntrospectionConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a configuration error');
}

const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.c2ln`;

describe('tenants options', () => {
  it('resolve each tenant as its own authorization server, with the top-level options as shared defaults', () => {
    const o = resolveOptions({ ...base, outagePolicy: 'serve-stale', resilience: { retries: 0 } });
    const a = o.tenants!.options.get('a')!;
    const b = o.tenants!.options.get('b')!;
    expect(o.tenants!.names).toEqual(['a', 'b']);
    expect([a.tenant, a.issuer, a.clientId, a.outagePolicy, a.resilience.retries]).toEqual(['a', 'https://a.example.com', 'api-a', 'serve-stale', 0]);
    expect([b.tenant, b.introspectionEndpoint?.href, b.clientSecret]).toEqual(['b', 'https://b.example.com/introspect', 'secret-b']);
    expect(o.tenant).toBeUndefined();
    expect(o.tenants!.readiness).toBe('any');
  });

  it('give each tenant its own shared-store namespace and eviction channel', () => {
    const o = resolveOptions({ ...base, cache: { keyPrefix: 'orders', redis: { url: 'redis://127.0.0.1:6379', channel: 'orders-ev' } } });
    const cache = (name: string) => o.tenants!.options.get(name)!.cache as Exclude<ReturnType<typeof resolveOptions>['cache'], false>;
    expect([cache('a').namespace, cache('b').namespace]).toEqual(['orders:a', 'orders:b']);
    expect([cache('a').redis!.channel, cache('b').redis!.channel]).toEqual(['orders-ev:a', 'orders-ev:b']);
    const defaults = resolveOptions({ ...base, cache: { redis: 'redis://127.0.0.1:6379' } });
    const ns = (name: string) => (defaults.tenants!.options.get(name)!.cache as { namespace: string }).namespace;
    expect(ns('a')).toMatch(/^token-introspection:[\w-]{12}:a$/);
    expect(ns('b')).toMatch(/^token-introspection:[\w-]{12}:b$/);
  });

  it('refuse top-level authorization-server options beside tenants, naming each', () => {
    expect(problems({ ...base, issuer: 'https://x.example.com', clientId: 'x' })).toMatch(
      /With `tenants`, each tenant has its own `issuer`, `clientId`: move them/,
    );
  });

  it('refuse bad tenant names, shared options inside a tenant, and a tenant without its authorization server', () => {
    expect(problems({ ...base, tenants: { ...tenants, 'Bad.Name': tenants.a } })).toMatch(/Tenant name 'Bad.Name' must be 1–32 characters/);
    expect(problems({ ...base, tenants: { ...tenants, c: { ...tenants.a, cache: false } } })).toMatch(/`tenants.c.cache` is not a per-tenant option/);
    expect(problems({ ...base, tenants: { ...tenants, c: { clientId: 'x', clientSecret: 'y' } } })).toMatch(
      /tenants\.c: Neither `introspectionEndpoint` nor `issuer`/,
    );
    expect(problems({ ...base, tenants: {} })).toMatch(/`tenants` must be an object of at least one tenant/);
  });

  it('need a resolver naming configured tenants only', () => {
    expect(problems({ tenants })).toMatch(/`tenants` needs `tenantResolver`/);
    expect(problems({ tenants, tenantResolver: { header: 'x-tenant', host: { 'a.example.com': 'a' } } })).toMatch(/give one of them/);
    expect(problems({ tenants, tenantResolver: { host: { 'a.example.com': 'c' } } })).toMatch(/names 'c', which is not a tenant/);
    expect(problems({ tenants, tenantResolver: { pathPrefix: { '/a': 'a' } } })).toMatch(/must be a path that starts and ends with '\/'/);
    expect(problems({ tenants, tenantResolver: {} })).toMatch(/must give one of `header`, `host`, `pathPrefix`, `resolve`, or `jwtIssuer: true`/);
    expect(problems({ ...base, clientId: undefined, tenants: undefined })).toMatch(/`tenantResolver` needs `tenants`/);
  });

  it('refuse what tenants cannot share: a plain cache store, connections, one issuer for two tenants under jwtIssuer', () => {
    expect(problems({ ...base, cache: { store: {} } })).toMatch(/`cache.store` cannot be shared by `tenants`/);
    expect(problems({ ...base, microservice: { token: 'token' } })).toMatch(/`websocket` and `microservice` are not supported with `tenants`/);
    const same = { a: tenants.a, b: { ...tenants.a, clientId: 'api-b' } };
    expect(problems({ tenants: same, tenantResolver: { jwtIssuer: true } })).toMatch(/same issuer 'https:\/\/a.example.com'/);
    expect(problems({ ...base, health: { readiness: 'most' } })).toMatch(/`health.readiness` must be 'any'/);
  });

  it('leave single-tenant options exactly as before', () => {
    const single = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's' });
    expect(single.tenants).toBeUndefined();
    expect(single.tenant).toBeUndefined();
  });
});

describe('tenant selection', () => {
  const known = new Set(['a', 'b']);
  const issuers = new Map([['https://a.example.com', 'a']]);

  it('reads the operator-controlled source and refuses names that are not configured', () => {
    const header = compileTenantSelector({ header: 'X-Tenant' }, known, issuers);
    expect(header({ headers: { 'x-tenant': 'b' } }, 'opaque')).toBe('b');
    expect(header({ headers: { 'x-tenant': 'c' } }, 'opaque')).toBeUndefined();
    expect(header({ headers: { 'x-tenant': ['a', 'b'] } }, 'opaque')).toBeUndefined();
    const host = compileTenantSelector({ host: { 'a.example.com': 'a' } }, known, issuers);
    expect(host({ headers: { host: 'A.Example.com:8443' } }, 'x')).toBe('a');
    expect(host({ headers: { host: 'b.example.com' } }, 'x')).toBeUndefined();
    const path = compileTenantSelector({ pathPrefix: { '/a/': 'a', '/a/b/': 'b' } }, known, issuers);
    expect(path({ url: '/a/b/orders?x=1' }, 'x')).toBe('b');
    expect(path({ originalUrl: '/a/orders', url: '/orders' }, 'x')).toBe('a');
    expect(path({ url: '/a' }, 'x')).toBe('a');
    expect(path({ url: '/ab/orders' }, 'x')).toBeUndefined();
    const fn = compileTenantSelector(
      () => {
        throw new Error('boom');
      },
      known,
      issuers,
    );
    expect(fn({}, 'x')).toBeUndefined();
  });

  it('lets an unverified JWT issuer choose among configured tenants only, and never reads an opaque token', () => {
    const select = compileTenantSelector({ jwtIssuer: true }, known, issuers);
    expect(select({ headers: {} }, jwt({ iss: 'https://a.example.com' }))).toBe('a');
    expect(select({ headers: {} }, jwt({ iss: 'https://evil.example.com' }))).toBeUndefined();
    expect(select({ headers: {} }, 'opaque-token')).toBeUndefined();
    expect(select({ headers: {} }, jwt({ iss: 'a' }))).toBeUndefined();
    const withHeader = compileTenantSelector({ header: 'x-tenant', jwtIssuer: true }, known, issuers);
    expect(withHeader({ headers: { 'x-tenant': 'b' } }, jwt({ iss: 'https://a.example.com' }))).toBe('b');
    const headerOnly = compileTenantSelector({ header: 'x-tenant' }, known, issuers);
    expect(headerOnly({ headers: {} }, jwt({ iss: 'https://a.example.com' }))).toBeUndefined();
  });

  it('reads the issuer of three-part tokens only', () => {
    expect(unverifiedIssuer(jwt({ iss: 'x' }))).toBe('x');
    expect(unverifiedIssuer(`${jwt({ iss: 'x' })}.extra`)).toBeUndefined();
    expect(unverifiedIssuer('a.b.c')).toBeUndefined();
    expect(unverifiedIssuer(jwt({ iss: 7 }))).toBeUndefined();
  });
});
