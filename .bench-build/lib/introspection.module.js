var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
import { Module } from '@nestjs/common';
import { IntrospectionCache } from './cache/introspection.cache.js';
import { IntrospectionClient } from './client/introspection.client.js';
import { INTROSPECTION_CACHE, RESOLVED_OPTIONS } from './introspection.constants.js';
import { ConfigurableIntrospectionModule, INTROSPECTION_MODULE_OPTIONS } from './introspection.module-definition.js';
import { IntrospectionService } from './introspection.service.js';
import { resolveOptions } from './options/resolve-options.js';
import { ResiliencePolicy } from './resilience/resilience.policy.js';
/**
 * Token introspection for NestJS. Import once in the root module:
 * `IntrospectionModule.forRoot({ issuer, clientId, clientSecret })`, or `forRootAsync({ imports, inject, useFactory })`
 * to read configuration at start-up. Global by default (`isGlobal: false` to scope it).
 * Options are validated once when the application starts; a wrong option fails start-up with a message
 * saying what to change.
 */
let IntrospectionModule = class IntrospectionModule extends ConfigurableIntrospectionModule {
};
IntrospectionModule = __decorate([
    Module({
        providers: [
            {
                provide: RESOLVED_OPTIONS,
                useFactory: (options) => resolveOptions(options),
                inject: [INTROSPECTION_MODULE_OPTIONS],
            },
            {
                provide: IntrospectionClient,
                useFactory: (options) => new IntrospectionClient(options),
                inject: [RESOLVED_OPTIONS],
            },
            {
                provide: ResiliencePolicy,
                useFactory: (options) => new ResiliencePolicy(options.resilience),
                inject: [RESOLVED_OPTIONS],
            },
            {
                provide: INTROSPECTION_CACHE,
                useFactory: (options) => options.cache ? new IntrospectionCache(options.cache, options.cacheNamespace) : null,
                inject: [RESOLVED_OPTIONS],
            },
            IntrospectionService,
        ],
        exports: [IntrospectionService],
    })
], IntrospectionModule);
export { IntrospectionModule };
