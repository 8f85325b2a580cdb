import { IntrospectionClient } from '../client/introspection.client.js';
import type { IntrospectionResponse } from '../client/introspection-response.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { InMemoryAuthorizationServer } from './in-memory-authorization-server.js';

/**
 * The HTTP layer replaced by a `InMemoryAuthorizationServer`: the only part of the library a test swaps.
 * Discovery, client authentication and the network are skipped; everything above (resilience, cache,
 * service, guard) is the production code.
 */
export class InMemoryIntrospectionClient extends IntrospectionClient {
  private readonly server: InMemoryAuthorizationServer;

  /**
   * @param servers one in-memory authorization server, or one per tenant (`tenants`: by tenant name). The module's own
   *   client (no tenant) of a module with tenants answers from an empty server: the guard asks the tenants' clients.
   */
  constructor(
    private readonly resolved: ResolvedOptions,
    private readonly servers: InMemoryAuthorizationServer | Readonly<Record<string, InMemoryAuthorizationServer>>,
  ) {
    super(resolved);
    this.server = serverFor(resolved, servers);
  }

  /** Each tenant's client answers from that tenant's in-memory server (or the one server given for all). */
  override forTenant(options: ResolvedOptions): IntrospectionClient {
    return new InMemoryIntrospectionClient(options, this.servers);
  }

  /** No start-up check against the in-memory server: it would only add a call to every test's counts. */
  override readonly verifiesOnStartup = false;

  override async introspect(token: string, signal?: AbortSignal): Promise<IntrospectionResponse> {
    signal?.throwIfAborted();
    const defaults = { audience: this.resolved.audience, expectedIssuer: this.resolved.expectedIssuer };
    return this.server.answer(token, defaults, this.resolved.resilience.retryAfterSeconds);
  }
}

/** The in-memory server of a client's options: the one given, or the tenant's (a tenant without one is a start-up error). */
function serverFor(
  options: ResolvedOptions,
  servers: InMemoryAuthorizationServer | Readonly<Record<string, InMemoryAuthorizationServer>>,
): InMemoryAuthorizationServer {
  if (servers instanceof InMemoryAuthorizationServer) return servers;
  if (options.tenant === undefined) return new InMemoryAuthorizationServer();
  const server = Object.hasOwn(servers, options.tenant) ? servers[options.tenant] : undefined;
  if (server instanceof InMemoryAuthorizationServer) return server;
  throw new IntrospectionConfigurationError(
    `overrideIntrospection(): no InMemoryAuthorizationServer for the tenant '${options.tenant}': pass one per tenant ({ ${options.tenant}: new InMemoryAuthorizationServer(), ... }) or one for all.`,
  );
}
