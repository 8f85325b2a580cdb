import { Module, type CanActivate, type NestModule } from '@nestjs/common';
import { APP_GUARD, ModuleRef, ModulesContainer } from '@nestjs/core';
import { TokenGuard } from './guard/token.guard.js';
import { connectionsExports, connectionsProviders } from './connections/connections.providers.js';
import { IntrospectionHealthIndicator } from './health/introspection.health.js';
import type { IntrospectionCache } from './cache/introspection.cache.js';
import { createIntrospectionCache } from './cache/create-cache.js';
import { CacheSharedState } from './cache/cache-shared-state.js';
import type { SharedState } from './cache/shared-state.js';
import { IntrospectionClient } from './client/introspection.client.js';
import {
  DPOP_VERIFIER,
  INTROSPECTION_CACHE,
  INTROSPECTION_TELEMETRY,
  RESOLVED_OPTIONS,
  SHARED_STATE,
  TENANT_CACHES,
  TENANT_HEALTH,
  TENANT_SERVICES,
  TOKEN_MINTER,
} from './introspection.constants.js';
import { createTenantCaches, createTenantEngines, type TenantEngine } from './tenant-engines.js';
import { IntrospectionTelemetry } from './telemetry/introspection.telemetry.js';
import { ConfigurableIntrospectionModule, INTROSPECTION_MODULE_OPTIONS } from './introspection.module-definition.js';
import { keysProviders } from './keys/keys.providers.js';
import { jwtProviders } from './jwt/jwt.providers.js';
import { dpopProviders } from './dpop/dpop.providers.js';
import type { IntrospectionModuleOptions } from './interfaces/introspection-module-options.interface.js';
import { IntrospectionService } from './introspection.service.js';
import { resolveOptions } from './options/resolve-options.js';
import type { ResolvedOptions } from './options/resolved-options.js';
import type { TokenMinter } from './ports.js';
import { ResiliencePolicy } from './resilience/resilience.policy.js';
import { OutboundTokenService } from './outbound/outbound-token.service.js';
import { PhantomTokenService } from './phantom/phantom-token.service.js';
import { PhantomTokenPipe } from './phantom/phantom-token.decorator.js';
import { ResourceMetadataPublisher } from './metadata/resource-metadata.publisher.js';
import { warnOnce } from './utils/startup-warnings.js';

/** Internal: each tenant's engine (service and health indicator), or null without tenants. */
const TENANT_ENGINES = Symbol('token-introspection:tenant-engines');
const PASS_THROUGH: CanActivate = { canActivate: () => true };
/** Internal: logs the options' start-up warnings when the providers are created. */
const OPTION_WARNINGS = Symbol('token-introspection:option-warnings');

/**
 * Token introspection for NestJS. Import once in the root module:
 * `IntrospectionModule.forRoot({ issuer, clientId, clientSecret })`, or `forRootAsync({ imports, inject, useFactory })`
 * to read configuration at start-up. Global by default (`isGlobal: false` to scope it).
 * Options are validated once when the application starts; a wrong option fails start-up with a message
 * saying what to change.
 */
@Module({
  providers: [
    {
      provide: RESOLVED_OPTIONS,
      useFactory: (options: IntrospectionModuleOptions) => resolveOptions(options),
      inject: [INTROSPECTION_MODULE_OPTIONS],
    },
    {
      // The options' start-up warnings: once per application, also when the module is imported in several modules.
      provide: OPTION_WARNINGS,
      useFactory: (options: ResolvedOptions, modules: ModulesContainer) => {
        for (const warning of options.warnings) warnOnce(modules, 'IntrospectionService', warning);
        return true;
      },
      inject: [RESOLVED_OPTIONS, ModulesContainer],
    },
    {
      provide: INTROSPECTION_TELEMETRY,
      useFactory: (options: ResolvedOptions) => new IntrospectionTelemetry(options).init(),
      inject: [RESOLVED_OPTIONS],
    },
    {
      provide: IntrospectionClient,
      useFactory: (options: ResolvedOptions) => new IntrospectionClient(options),
      inject: [RESOLVED_OPTIONS],
    },
    {
      provide: ResiliencePolicy,
      useFactory: (options: ResolvedOptions) => new ResiliencePolicy(options.resilience),
      inject: [RESOLVED_OPTIONS],
    },
    {
      // With `tenants`, each tenant has its own cache (TENANT_CACHES) and the module none.
      provide: INTROSPECTION_CACHE,
      useFactory: (options: ResolvedOptions) => (options.tenants ? null : createIntrospectionCache(options)),
      inject: [RESOLVED_OPTIONS],
    },
    {
      provide: TENANT_CACHES,
      useFactory: createTenantCaches,
      inject: [RESOLVED_OPTIONS],
    },
    {
      // What replicas share for features (DPoP and push replay records, JWT revocation marks): the cache's
      // stores (with `tenants`, the first tenant's); without a cache, a state that shares nothing (each feature keeps its in-process memory).
      provide: SHARED_STATE,
      useFactory: (cache: IntrospectionCache | null, tenants: ReadonlyMap<string, IntrospectionCache | null> | null): SharedState =>
        (cache ?? tenants?.values().next().value)?.sharedState ?? new CacheSharedState(),
      inject: [INTROSPECTION_CACHE, TENANT_CACHES],
    },
    ...keysProviders,
    ...jwtProviders,
    ...dpopProviders,
    {
      // This API's own tokens for the backends it calls (`outbound`); nothing is fetched until first use.
      provide: OutboundTokenService,
      useFactory: (options: ResolvedOptions, raw: IntrospectionModuleOptions, telemetry: IntrospectionTelemetry) =>
        new OutboundTokenService(options, raw.outbound, telemetry),
      inject: [RESOLVED_OPTIONS, INTROSPECTION_MODULE_OPTIONS, INTROSPECTION_TELEMETRY],
    },
    {
      // Phantom tokens for internal services (`phantom`); keys loaded at start-up when on.
      provide: PhantomTokenService,
      useFactory: (raw: IntrospectionModuleOptions, introspection: IntrospectionService, modules: ModulesContainer) =>
        new PhantomTokenService(raw.phantom, introspection, modules),
      inject: [INTROSPECTION_MODULE_OPTIONS, IntrospectionService, ModulesContainer],
    },
    {
      // The TokenMinter port (ports.ts) on the phantom-token service, for the forward-auth decision endpoint; null when off.
      provide: TOKEN_MINTER,
      useFactory: (raw: IntrospectionModuleOptions, phantom: PhantomTokenService): TokenMinter | null =>
        raw.phantom ? { audiences: [...raw.phantom.audiences], mint: (token, audience, options) => phantom.mint(token, audience, options) } : null,
      inject: [INTROSPECTION_MODULE_OPTIONS, PhantomTokenService],
    },
    PhantomTokenPipe,
    {
      // `tenants`: one complete engine per tenant (tenant-engines.ts); the module's IntrospectionService routes to them.
      provide: TENANT_ENGINES,
      useFactory: createTenantEngines,
      inject: [RESOLVED_OPTIONS, TENANT_CACHES, DPOP_VERIFIER, ModuleRef, IntrospectionClient],
    },
    {
      provide: TENANT_SERVICES,
      useFactory: (engines: ReadonlyMap<string, TenantEngine> | null) => engines && new Map([...engines].map(([name, engine]) => [name, engine.service])),
      inject: [TENANT_ENGINES],
    },
    {
      provide: TENANT_HEALTH,
      useFactory: (engines: ReadonlyMap<string, TenantEngine> | null) => engines && new Map([...engines].map(([name, engine]) => [name, engine.health])),
      inject: [TENANT_ENGINES],
    },
    // RFC 9728 metadata routes (`resourceMetadata`); does nothing when the option is absent.
    ResourceMetadataPublisher,
    IntrospectionService,
    TokenGuard,
    // WebSocket, graphql-ws, microservice messages: ConnectionAuthenticator, MessageHandlerAudit.
    ...connectionsProviders,
    IntrospectionHealthIndicator,
    {
      // Decided at start-up from the (possibly async) options: the real guard, or one that lets everything
      // through so `@UseGuards(TokenGuard)` stays the only enforcement when `globalGuard: false`.
      provide: APP_GUARD,
      useFactory: (options: ResolvedOptions, guard: TokenGuard): CanActivate => (options.globalGuard ? guard : PASS_THROUGH),
      inject: [RESOLVED_OPTIONS, TokenGuard],
    },
  ],
  exports: [
    IntrospectionService,
    TokenGuard,
    ...connectionsExports,
    IntrospectionHealthIndicator,
    RESOLVED_OPTIONS,
    INTROSPECTION_TELEMETRY,
    OutboundTokenService,
    PhantomTokenService,
    PhantomTokenPipe,
    TOKEN_MINTER,
  ],
})
export class IntrospectionModule extends ConfigurableIntrospectionModule implements NestModule {
  constructor(private readonly metadataPublisher: ResourceMetadataPublisher) {
    super();
  }

  /**
   * Nest calls this while it sets up middleware, before it registers the app's routes: the RFC 9728 metadata
   * documents go first, so no app route (a catch-all among them) can shadow them.
   */
  configure(): void {
    this.metadataPublisher.register();
  }
}
