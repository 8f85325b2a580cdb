import { describe, expect, it } from '@jest/globals';
import { resolveOptions } from '../../../lib/options/resolve-options.js';
import { Test } from '@nestjs/testing';
import { IntrospectionModule, type IntrospectionModuleOptions } from '../../../lib/index.js';
import { quietLogger } from '../../support/engine.js';

const A = { issuer: 'https://a.example.com', clientId: 'api', clientSecret: 's' };
const stub = (host: string) => ({ introspectionEndpoint: `https://${host}/introspect`, clientId: 'api', clientSecret: 's' });
const problem = (options: unknown): string => {
  try {
    resolveOptions(options as IntrospectionModuleOptions);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

/** Operator mistakes with `tenants` must stop start-up with a message naming the mistake (never a runtime 401/500 for every request). */
describe('adversarial: tenant configuration mistakes are start-up errors', () => {
  it.each([
    ['an empty tenants object', { tenants: {}, tenantResolver: { header: 'x-tenant' } }, /at least one tenant/],
    ['a tenant with no authorization server', { tenants: { a: { clientId: 'api' } }, tenantResolver: { header: 'x-tenant' } }, /tenants\.a/],
    ['an upper-case tenant name', { tenants: { A }, tenantResolver: { header: 'x-tenant' } }, /Tenant name 'A'/],
    ['a tenant name with a colon', { tenants: { 'a:b': A }, tenantResolver: { header: 'x-tenant' } }, /Tenant name 'a:b'/],
    ['a top-level issuer beside tenants', { issuer: 'https://x', tenants: { a: A }, tenantResolver: { header: 'x-tenant' } }, /`issuer`/],
    ['no tenantResolver', { tenants: { a: A } }, /needs `tenantResolver`/],
    ['a path prefix naming an unknown tenant', { tenants: { a: A }, tenantResolver: { pathPrefix: { '/z/': 'z' } } }, /not a tenant/],
    ['a host with a port', { tenants: { a: A }, tenantResolver: { host: { 'a.example.com:8443': 'a' } } }, /host name without port/],
    ['two tenants with one issuer and jwtIssuer', { tenants: { a: A, b: { ...A } }, tenantResolver: { jwtIssuer: true } }, /same issuer/],
    [
      "a tenant name ending in '-evicted' (it would share tenant a's Redis revocations)",
      { tenants: { a: A, 'a-evicted': stub('x.example.com') }, tenantResolver: { header: 'x-tenant' } },
      /'-evicted' would share the Redis keys of the tenant 'a'/,
    ],
    ['two path prefixes that differ only in case', { tenants: { a: A }, tenantResolver: { pathPrefix: { '/a/': 'a', '/A/': 'a' } } }, /cannot tell apart/],
    [
      'back-channel logout beside tenants (one receiver, one OpenID Provider)',
      { tenants: { a: A }, tenantResolver: { header: 'x-tenant' }, backchannelLogout: {} },
      /`backchannelLogout` is not supported with `tenants`/,
    ],
    ['readiness neither all nor any', { tenants: { a: A }, tenantResolver: { header: 'x-tenant' }, health: { readiness: 'some' } }, /readiness/],
  ])('%s', (_title, options, message) => {
    expect(problem(options)).toMatch(message);
  });

  it('jwtIssuer alone, with no tenant that has an issuer (introspectionEndpoint only): a start-up error, not a 401 for every request', () => {
    expect(problem({ tenants: { a: stub('a.example.com'), b: stub('b.example.com') }, tenantResolver: { jwtIssuer: true } })).toMatch(/jwtIssuer/);
  });

  it('forRootAsync: the same mistakes stop start-up (the factory runs before the app listens), not a runtime 500', async () => {
    const moduleRef = Test.createTestingModule({
      imports: [
        IntrospectionModule.forRootAsync({ useFactory: async () => ({ tenants: { a: { clientId: 'api' } }, tenantResolver: { header: 'x-tenant' } }) }),
      ],
    }).setLogger(quietLogger);
    await expect(moduleRef.compile()).rejects.toThrow(/tenants\.a/);
  });
});
