import { IntrospectionClient } from '../client/introspection.client.js';
/**
 * The HTTP layer replaced by a `InMemoryAuthorizationServer`: the only part of the library a test swaps.
 * Discovery, client authentication and the network are skipped; everything above (resilience, cache,
 * service, guard) is the production code.
 */
export class InMemoryIntrospectionClient extends IntrospectionClient {
    constructor(resolved, server) {
        super(resolved);
        this.resolved = resolved;
        this.server = server;
    }
    async introspect(token, signal) {
        signal?.throwIfAborted();
        const defaults = { audience: this.resolved.audience, expectedIssuer: this.resolved.expectedIssuer };
        return this.server.answer(token, defaults, this.resolved.resilience.retryAfterSeconds);
    }
}
