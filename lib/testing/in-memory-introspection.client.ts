import { IntrospectionClient } from '../client/introspection.client.js';
import type { IntrospectionResponse } from '../client/introspection-response.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { InMemoryAuthorizationServer } from './in-memory-authorization-server.js';

/**
 * The HTTP layer replaced by a `InMemoryAuthorizationServer`: the only part of the library a test swaps.
 * Discovery, client authentication and the network are skipped; everything above (resilience, cache,
 * service, guard) is the production code.
 */
export class InMemoryIntrospectionClient extends IntrospectionClient {
  constructor(
    private readonly resolved: ResolvedOptions,
    private readonly server: InMemoryAuthorizationServer,
  ) {
    super(resolved);
  }

  /** No start-up check against the in-memory server: it would only add a call to every test's counts. */
  override readonly verifiesOnStartup = false;

  override async introspect(token: string, signal?: AbortSignal): Promise<IntrospectionResponse> {
    signal?.throwIfAborted();
    const defaults = { audience: this.resolved.audience, expectedIssuer: this.resolved.expectedIssuer };
    return this.server.answer(token, defaults, this.resolved.resilience.retryAfterSeconds);
  }
}
