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
 * AUTH_AUDIENCE, AUTH_REQUIRE_TOKEN_TYPE (default true), AUTH_ALLOW_INSECURE=true (development only), AUTH_CACHE_TTL_SECONDS,
 * and PHANTOM_SIGNING_KEY (the phantom tokens' signing key, PKCS#8 PEM: the same for every replica).
 */
@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    TerminusModule.forRoot({ logger: false }),
    IntrospectionModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      // Publishes the keys of the phantom tokens the internal stock service validates.
      phantomJwksPath: PHANTOM_JWKS_PATH,
      useFactory: (config: ConfigService) => ({
        issuer: config.get<string>('AUTH_ISSUER'),
        introspectionEndpoint: config.get<string>('AUTH_INTROSPECTION_ENDPOINT'),
        clientId: config.getOrThrow<string>('AUTH_CLIENT_ID'),
        clientSecret: config.getOrThrow<string>('AUTH_CLIENT_SECRET'),
        audience: config.get<string>('AUTH_AUDIENCE'),
        // Refresh tokens must not pass as access tokens (oidc-provider answers them without token_type).
        requireTokenType: config.get<string>('AUTH_REQUIRE_TOKEN_TYPE', 'true') === 'true',
        allowInsecureRequests: config.get<string>('AUTH_ALLOW_INSECURE') === 'true',
        cache: { ttlSeconds: Number(config.get('AUTH_CACHE_TTL_SECONDS') ?? 60), staleIfErrorSeconds: 300 },
        resilience: { circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 2000 } },
        health: { cacheMs: 1000 },
        // Phantom tokens for the internal stock service, signed with one key shared by every replica (from a Secret).
        // Without PHANTOM_SIGNING_KEY the module generates a key at start-up and warns (fine for one development process).
        phantom: {
          issuer: SAMPLE_EDGE_ISSUER,
          audiences: [SAMPLE_STOCK_AUDIENCE],
          lifetimeSeconds: 60,
          keys: config.get<string>('PHANTOM_SIGNING_KEY') ? [{ privateKey: config.get<string>('PHANTOM_SIGNING_KEY')! }] : undefined,
        },
      }),
    }),
  ],
  controllers: [OrdersController, HealthController, MetricsController],
})
export class AppModule {}
