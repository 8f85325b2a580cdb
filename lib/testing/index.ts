/**
 * nestjs-token-introspection/testing: test your own app's protected routes without a network
 * authorization server. Declare tokens (active, scopes, claims) and outages on an
 * `InMemoryAuthorizationServer`; `overrideIntrospection()` swaps only the HTTP call to the introspection
 * endpoint, so the real guard, service, cache and resilience policies answer 401/403/503 as in production.
 * @packageDocumentation
 */
import { IntrospectionClient } from '../client/introspection.client.js';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { InMemoryIntrospectionClient } from './in-memory-introspection.client.js';
import { InMemoryAuthorizationServer } from './in-memory-authorization-server.js';

/** The in-memory authorization server: `activeToken()`, `issueToken()`, `revoke()`, `simulateOutage()`, `endOutage()`. */
export { InMemoryAuthorizationServer } from './in-memory-authorization-server.js';
/** Claims of a declared token, the kinds of simulated outage, and the defaults taken from the module options. */
export type { SimulatedOutage, TestTokenClaims, TestTokenDefaults } from './in-memory-authorization-server.js';

/** What `overrideIntrospection()` needs of a builder: `@nestjs/testing`'s `TestingModuleBuilder` has it. */
export interface ProviderOverridingBuilder<TBuilder> {
  overrideProvider(token: unknown): {
    useFactory(options: { factory: (...args: any[]) => unknown; inject?: unknown[] }): TBuilder;
  };
}

/**
 * The override `overrideIntrospection()` applies, as `{ provide, useFactory, inject }`, for
 * `overrideProvider(provide).useFactory({ factory: useFactory, inject })` by hand. (A provider with
 * this token in your own module would not replace the one inside `IntrospectionModule`: override it.)
 */
export function introspectionClientOverride(server: InMemoryAuthorizationServer | Readonly<Record<string, InMemoryAuthorizationServer>>) {
  return {
    provide: IntrospectionClient,
    useFactory: (options: ResolvedOptions) => new InMemoryIntrospectionClient(options, server),
    inject: [RESOLVED_OPTIONS],
  };
}

/**
 * Makes the app under test ask `server` instead of the real authorization server. Keep the rest of
 * your `IntrospectionModule` options (audience, outage policy, cache, resilience) as in production.
 * With `tenants`, pass one server per tenant (`{ a: serverA, b: serverB }`: a tenant without one fails at start-up),
 * or one server that answers for every tenant.
 *
 * ```ts
 * const as = new InMemoryAuthorizationServer().activeToken('reader', { scope: 'orders:read' });
 * const moduleRef = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }), as).compile();
 * const app = moduleRef.createNestApplication();
 * await app.init();
 * await request(app.getHttpServer()).get('/orders').set('Authorization', 'Bearer reader').expect(200);
 * ```
 */
export function overrideIntrospection<TBuilder>(
  builder: ProviderOverridingBuilder<TBuilder>,
  server: InMemoryAuthorizationServer | Readonly<Record<string, InMemoryAuthorizationServer>>,
): TBuilder {
  const { useFactory, inject } = introspectionClientOverride(server);
  return builder.overrideProvider(IntrospectionClient).useFactory({ factory: useFactory, inject });
}
