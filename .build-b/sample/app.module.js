var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { IntrospectionModule } from 'nestjs-token-introspection';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.js';
import { OrdersController } from './orders.controller.js';
import { PHANTOM_JWKS_PATH, SAMPLE_EDGE_ISSUER, SAMPLE_STOCK_AUDIENCE } from './internal-service.js';
/**
 * The configuration comes from environment variables (see sample/README section in the main README):
 * AUTH_ISSUER or AUTH_INTROSPECTION_ENDPOINT, AUTH_CLIENT_ID, AUTH_CLIENT_SECRET, and optionally
 * AUTH_AUDIENCE, AUTH_REQUIRE_TOKEN_TYPE (default true), AUTH_ALLOW_INSECURE=true (development only), AUTH_CACHE_TTL_SECONDS.
 */
let AppModule = class AppModule {
};
AppModule = __decorate([
    Module({
        imports: [
            ConfigModule.forRoot({ ignoreEnvFile: true }),
            TerminusModule.forRoot({ logger: false }),
            IntrospectionModule.forRootAsync({
                imports: [ConfigModule],
                inject: [ConfigService],
                // Publishes the keys of the phantom tokens the internal stock service validates.
                phantomJwksPath: PHANTOM_JWKS_PATH,
                useFactory: (config) => ({
                    issuer: config.get('AUTH_ISSUER'),
                    introspectionEndpoint: config.get('AUTH_INTROSPECTION_ENDPOINT'),
                    clientId: config.getOrThrow('AUTH_CLIENT_ID'),
                    clientSecret: config.getOrThrow('AUTH_CLIENT_SECRET'),
                    audience: config.get('AUTH_AUDIENCE'),
                    // Refresh tokens must not pass as access tokens (oidc-provider answers them without token_type).
                    requireTokenType: config.get('AUTH_REQUIRE_TOKEN_TYPE', 'true') === 'true',
                    allowInsecureRequests: config.get('AUTH_ALLOW_INSECURE') === 'true',
                    cache: { ttlSeconds: Number(config.get('AUTH_CACHE_TTL_SECONDS') ?? 60), staleIfErrorSeconds: 300 },
                    resilience: { circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 2000 } },
                    health: { cacheMs: 1000 },
                    // Phantom tokens for the internal stock service (a development key generated at start-up: configure `keys` in production).
                    phantom: { issuer: SAMPLE_EDGE_ISSUER, audiences: [SAMPLE_STOCK_AUDIENCE], lifetimeSeconds: 60 },
                }),
            }),
        ],
        controllers: [OrdersController, HealthController, MetricsController],
    })
], AppModule);
export { AppModule };
