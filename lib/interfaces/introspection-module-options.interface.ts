import type { CoreIntrospectionOptions } from '../options/core-options.interface.js';
import type { JwtModuleOptions } from '../jwt/jwt-options.interface.js';
import type { DpopModuleOptions } from '../dpop/dpop-options.interface.js';
import type { ConnectionsModuleOptions } from '../connections/connections-options.interface.js';
import type { MetadataModuleOptions } from '../metadata/resource-metadata-options.interface.js';
import type { PushModuleOptions } from '../push/push-options.interface.js';
import type { PhantomModuleOptions } from '../phantom/phantom-options.interface.js';
import type { OutboundModuleOptions } from '../outbound/outbound-options.interface.js';
import type { TenantRequestResolver, TenantResolverOptions } from '../tenants/tenant-options.interface.js';

// The composed options type is part of the composition root: the only options file that names every capability.
// Each slice lives with its capability; the names exported here before the split still are.
export type { ClientAuthMethod } from '../client/client-auth-method.js';
export type { OutagePolicy } from '../decorators/outage-policy.decorator.js';
export type { IntrospectionCacheOptions, IntrospectionRevalidationOptions } from '../options/cache-options.interface.js';
export type { CoreIntrospectionOptions, IntrospectionResilienceOptions } from '../options/core-options.interface.js';
export type { JwtAccessTokenOptions, JwtMode, JwtModuleOptions, SignedIntrospectionOptions } from '../jwt/jwt-options.interface.js';
export type { DpopModuleOptions, DpopOptions, MtlsOptions } from '../dpop/dpop-options.interface.js';
export type { ConnectionsModuleOptions } from '../connections/connections-options.interface.js';
export type { MetadataModuleOptions } from '../metadata/resource-metadata-options.interface.js';
export type { PushModuleOptions } from '../push/push-options.interface.js';
export type { PhantomModuleOptions } from '../phantom/phantom-options.interface.js';
export type { OutboundModuleOptions } from '../outbound/outbound-options.interface.js';
export type { TenantReadiness, TenantRequestResolver, TenantResolverOptions } from '../tenants/tenant-options.interface.js';

/**
 * One tenant: a complete authorization-server configuration (`issuer` or `introspectionEndpoint`, client authentication,
 * `audience`, `expectedIssuer`, JWT access tokens). Everything else is set once, at the top level, for every tenant.
 */
export interface TenantOptions
  extends
    Pick<
      CoreIntrospectionOptions,
      | 'introspectionEndpoint'
      | 'issuer'
      | 'clientId'
      | 'clientSecret'
      | 'clientAuthMethod'
      | 'privateKey'
      | 'privateKeyAlgorithm'
      | 'privateKeyId'
      | 'tokenEndpoint'
      | 'tokenScope'
      | 'audience'
      | 'expectedIssuer'
      | 'requireTokenType'
      | 'clientSecretBasicEncoding'
    >,
    JwtModuleOptions {
  /** Our client id at the tenant's authorization server. */
  clientId: string;
}

/** Several authorization servers in one API (see docs/tenants.md). */
export interface TenantsModuleOptions {
  /**
   * Tenants by name (`[a-z0-9_-]{1,32}`): each a complete authorization server, isolated from the others (cache
   * namespace, single-flight, circuit breaker, bulkhead, keys, own-token credentials, metrics). With `tenants`, the
   * top-level authorization-server options (`issuer`, `clientId`, …) are refused: the top level holds the defaults
   * every tenant shares.
   */
  tenants?: Record<string, TenantOptions>;
  /** How a request picks its tenant (needed with `tenants`); a request it cannot place gets 401 `invalid_token`. */
  tenantResolver?: TenantResolverOptions | TenantRequestResolver;
}

/** Options of `IntrospectionModule.forRoot()` / `forRootAsync()`. */
export interface IntrospectionModuleOptions
  extends
    CoreIntrospectionOptions,
    TenantsModuleOptions,
    JwtModuleOptions,
    DpopModuleOptions,
    ConnectionsModuleOptions,
    MetadataModuleOptions,
    PushModuleOptions,
    PhantomModuleOptions,
    OutboundModuleOptions {}
