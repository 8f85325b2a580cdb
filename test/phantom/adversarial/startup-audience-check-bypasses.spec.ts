// Adversarial review of the phantom start-up check (round 15b; was attack15b-phantom-startup).
import { afterEach, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { IntrospectionModule, PhantomToken } from '../../../lib/index.js';
import { startApp } from '../../support/app.js';

/**
 * Review 15b: ways around the phantom start-up check (@PhantomToken(aud) vs phantom.audiences) with a real
 * Nest application. FINDING tests fail on 4cd5d32; DEFENCE tests pass.
 */
const ISSUER = 'https://edge.example';
const ORDERS = 'https://orders.internal';
const TYPO = 'https://ordres.internal';

/** A base class shared by controllers: Nest registers its routes on every subclass. */
abstract class PhantomBase {
  @Get()
  forward(@PhantomToken(TYPO) phantom: string) {
    return { phantom };
  }
}
@Controller('inherited')
class InheritedController extends PhantomBase {}

@Resolver()
class PhantomResolver {
  @Query(() => String)
  forward(@PhantomToken(TYPO) phantom: string): string {
    return phantom;
  }
}

@Controller('feature')
class FeatureController {
  @Get()
  forward(@PhantomToken(TYPO) phantom: string) {
    return { phantom };
  }
}
@Module({})
class FeatureModule {
  static register(): DynamicModule {
    return { module: FeatureModule, controllers: [FeatureController] };
  }
}

describe('phantom start-up checks: routes the audience check must still see', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  const options = {
    introspectionEndpoint: 'http://127.0.0.1:9/introspect', // never called
    clientId: 'edge',
    clientSecret: 'secret',
    allowInsecureRequests: true,
    phantom: { issuer: ISSUER, audiences: [ORDERS] },
  };
  const start = async (...args: Parameters<typeof startApp> extends [unknown, ...infer R] ? R : never) => {
    const started = await startApp('express', ...args);
    apps.push(started.app);
    return started;
  };

  it('a typo audience on a route inherited from a base class fails start-up', async () => {
    // Observed: start-up succeeds (only own prototype methods are scanned); every call of GET /inherited then fails.
    await expect(start(IntrospectionModule.forRoot(options), [InheritedController])).rejects.toThrow(/ordres\.internal/);
  });

  it('a typo audience in a GraphQL resolver fails start-up', async () => {
    // Observed: start-up succeeds (resolvers are providers, only controllers are scanned).
    await expect(
      start(
        IntrospectionModule.forRoot(options),
        [],
        [
          GraphQLModule.forRoot<ApolloDriverConfig>({
            driver: ApolloDriver,
            autoSchemaFile: true,
            context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
          }),
        ],
        [PhantomResolver],
      ),
    ).rejects.toThrow(/ordres\.internal/);
  });

  it('forRootAsync and a controller in a dynamic feature module: the typo still fails start-up', async () => {
    await expect(start(IntrospectionModule.forRootAsync({ useFactory: async () => options }), [], [FeatureModule.register()])).rejects.toThrow(
      /FeatureController\.forward: 'https:\/\/ordres\.internal'/,
    );
  });
});
