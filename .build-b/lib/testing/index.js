/**
 * nestjs-token-introspection/testing: test your own app's protected routes without a network
 * authorization server. Declare tokens (active, scopes, claims) and outages on an
 * `InMemoryAuthorizationServer`; `overrideIntrospection()` swaps only the HTTP call to the introspection
 * endpoint, so the real guard, service, cache and resilience policies answer 401/403/503 as in production.
 * @packageDocumentation
 */
import { IntrospectionClient } from '../client/introspection.client.js';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import { InMemoryIntrospectionClient } from './in-memory-introspection.client.js';
/** The in-memory authorization server: `activeToken()`, `issueToken()`, `revoke()`, `simulateOutage()`, `endOutage()`. */
export { InMemoryAuthorizationServer } from './in-memory-authorization-server.js';
/**
 * The override `overrideIntrospection()` applies, as `{ provide, useFactory, inject }`, for
 * `overrideProvider(provide).useFactory({ factory: useFactory, inject })` by hand. (A provider with
 * this token in your own module would not replace the one inside `IntrospectionModule`: override it.)
 */
export function introspectionClientOverride(server) {
    return {
        provide: IntrospectionClient,
        useFactory: (options) => new InMemoryIntrospectionClient(options, server),
        inject: [RESOLVED_OPTIONS],
    };
}
/**
 * Makes the app under test ask `server` instead of the real authorization server. Keep the rest of
 * your `IntrospectionModule` options (audience, outage policy, cache, resilience) as in production.
 *
 * ```ts
 * const as = new InMemoryAuthorizationServer().activeToken('reader', { scope: 'orders:read' });
 * const moduleRef = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }), as).compile();
 * const app = moduleRef.createNestApplication();
 * await app.init();
 * await request(app.getHttpServer()).get('/orders').set('Authorization', 'Bearer reader').expect(200);
 * ```
 */
export function overrideIntrospection(builder, server) {
    const { useFactory, inject } = introspectionClientOverride(server);
    return builder.overrideProvider(IntrospectionClient).useFactory({ factory: useFactory, inject });
}
