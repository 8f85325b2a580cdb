import type { CoreIntrospectionOptions } from '../options/core-options.interface.js';
import type { JwtModuleOptions } from '../jwt/jwt-options.interface.js';
import type { DpopModuleOptions } from '../dpop/dpop-options.interface.js';
import type { ConnectionsModuleOptions } from '../connections/connections-options.interface.js';
import type { MetadataModuleOptions } from '../metadata/resource-metadata-options.interface.js';
import type { PushModuleOptions } from '../push/push-options.interface.js';
import type { PhantomModuleOptions } from '../phantom/phantom-options.interface.js';
import type { OutboundModuleOptions } from '../outbound/outbound-options.interface.js';

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

/** Options of `IntrospectionModule.forRoot()` / `forRootAsync()`. */
export interface IntrospectionModuleOptions
  extends
    CoreIntrospectionOptions,
    JwtModuleOptions,
    DpopModuleOptions,
    ConnectionsModuleOptions,
    MetadataModuleOptions,
    PushModuleOptions,
    PhantomModuleOptions,
    OutboundModuleOptions {}
