import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ActiveIntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { BearerExtraction } from '../guard/bearer.js';
import { readRouteChecks, type RouteChecks } from '../guard/route-checks.js';
import { bearerOrRawToken, compileTokenSources, type TokenExtractor } from '../guard/token-sources.js';
import { ConnectionRefusedError, checkToken, routeRefusal } from './connection-refusal.js';
import { authenticateHandshake, originAllowed } from './connection-handshake.js';
import { isCompiled, isExtraction, type ConnectionHost, type ConnectionPrincipal, type ConnectionRequirements } from './connection-state.js';
import { ConnectionWatch } from './connection-watch.js';
import { graphqlWsHooks } from './graphql-ws.js';
import type { SocketLike } from './sockets.js';

// The names this module exported before it was split (refusals, connection state, sockets): same module, same names.
export { CLOSE_CODES, ConnectionRefusedError, checkToken, routeRefusal } from './connection-refusal.js';
export { connections, type ConnectionPrincipal, type ConnectionRequirements, type ConnectionState } from './connection-state.js';
export { closeSocket, type SocketLike } from './sockets.js';

/**
 * Authenticates long-lived connections — WebSocket handshakes, graphql-ws `connectionParams` — with the same rules as
 * `TokenGuard`, and keeps them honest: an open connection is checked again every `websocket.recheckIntervalSeconds`,
 * at its token's `exp`, and as soon as the token is evicted (`evict()`, `evictBySubject()`, the webhook, another
 * replica); a token found inactive closes it with 4401. While the authorization server cannot answer, open connections
 * stay open (never past `exp`). Provided and exported by `IntrospectionModule`.
 */
@Injectable()
export class ConnectionAuthenticator implements OnApplicationShutdown {
  private readonly log = new RateLimitedLogger(new Logger('ConnectionAuthenticator'));
  private handshakeSources?: TokenExtractor;
  private readonly roles: RoleExtractor;
  private readonly compiled = new WeakMap<object, RouteChecks | undefined>();
  /** Re-checks of open connections, and eviction watching (`connection-watch.ts`). */
  private readonly watcher: ConnectionWatch;
  /** What the handshake and the graphql-ws hooks use of this authenticator (its methods, so that overrides apply). */
  private readonly host: ConnectionHost;

  constructor(
    private readonly introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    private readonly reflector: Reflector,
  ) {
    this.roles = new RoleExtractor(options.roles.mappers, (error) =>
      this.log.warn('role-mapper', `A role mapper threw; the token counts as holding none of its roles: ${(error as Error)?.message ?? String(error)}`),
    );
    this.watcher = new ConnectionWatch(introspection, options, this.roles, this.log, {
      check: (token, presentation, caller) => this.check(token, presentation, caller),
      authenticate: (token, requirements, presentation, caller) => this.authenticate(token, requirements, presentation, caller),
      compileRequirements: (requirements) => this.compileRequirements(requirements),
    });
    this.host = {
      options,
      log: this.log,
      compileRequirements: (requirements) => this.compileRequirements(requirements),
      originAllowed: (request, allowed) => this.originAllowed(request, allowed),
      authenticateAndWatch: (...args) => this.watcher.authenticateAndWatch(...args),
    };
  }

  /**
   * Reads connection requirements once (scopes, and the decorators of \`requirementsOf\`). Throws
   * \`IntrospectionConfigurationError\` for decorator arguments that cannot work (e.g. an unknown \`@ProtectedResource()\`).
   */
  compileRequirements(requirements: readonly string[] | ConnectionRequirements = []): RouteChecks | undefined {
    if (Array.isArray(requirements)) requirements = { requiredScopes: requirements as readonly string[] };
    const { requiredScopes = [], requirementsOf } = requirements as ConnectionRequirements;
    const key = requirementsOf ?? undefined;
    let checks: RouteChecks | undefined;
    if (key && this.compiled.has(key)) {
      checks = this.compiled.get(key);
    } else if (key) {
      const read = readRouteChecks(this.reflector, undefined, key, this.options);
      if (read.errors.length > 0) {
        throw new IntrospectionConfigurationError(`Invalid connection requirements (${key.name}):\n${read.errors.map((e) => `  - ${e}`).join('\n')}`);
      }
      for (const trap of read.traps) new Logger('ConnectionAuthenticator').warn(`${key.name}: ${trap}`);
      checks = read.checks;
      this.compiled.set(key, checks);
    }
    if (requiredScopes.length === 0) return checks;
    const allScopes = [...new Set([...(checks?.allScopes ?? []), ...requiredScopes])];
    return Object.freeze({ allRoles: [], anyRoles: [], allClaims: [], anyClaims: [], anyScopes: [], ...checks, allScopes });
  }

  /**
   * Checks a token: resolves to the principal, or rejects with `ConnectionRefusedError` (never anything else).
   * `token` is what a transport carried: a `BearerExtraction`, or a value given as `Bearer <token>` or raw.
   * `requirements`: required scopes, or `ConnectionRequirements` (scopes and a decorated class), or their
   * compiled form (`compileRequirements`, to read them once for many calls). `caller`: the client's fair-queue key
   * (typically its address), so that one client flooding unknown tokens cannot crowd out the others.
   */
  async authenticate(
    // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- documents the extraction it is usually given
    token: BearerExtraction | unknown,
    requirements: readonly string[] | ConnectionRequirements | RouteChecks = [],
    presentation: TokenPresentation = { scheme: 'bearer' },
    caller?: string,
  ): Promise<ConnectionPrincipal> {
    const checks = isCompiled(requirements) ? requirements : this.compileRequirements(requirements);
    const extraction = isExtraction(token) ? token : bearerOrRawToken(token, 'access token', this.options.maxTokenLength);
    if (extraction.kind === 'missing' || extraction.kind === 'other_scheme') {
      throw new ConnectionRefusedError('invalid_token', 401, 'An access token is required.');
    }
    if (extraction.kind === 'malformed') throw new ConnectionRefusedError('invalid_request', 400, extraction.description);
    if (extraction.scheme === 'dpop') {
      throw new ConnectionRefusedError('invalid_request', 400, 'DPoP-bound tokens cannot authenticate a connection: send a bearer token.');
    }
    const result = await this.check(extraction.token, presentation, caller);
    const refused = checks && routeRefusal(checks, result, this.roles, this.options.clockSkewSeconds);
    if (refused) throw refused;
    return { token: extraction.token, result, presentation, ...(caller === undefined ? {} : { caller }) };
  }

  /**
   * Introspects a connection's token (through the cache): the active result, or a `ConnectionRefusedError`
   * (`invalid_token` for an inactive token, `temporarily_unavailable` when the authorization server cannot answer).
   */
  check(token: string, presentation: TokenPresentation, caller?: string): Promise<ActiveIntrospectionResult> {
    return checkToken(this.introspection, this.options, token, presentation, caller);
  }

  /**
   * Keeps an authenticated connection under watch until `close` is called or the returned function is: `close(code,
   * reason)` is called once, when the token turns inactive (4401) or expires, or no longer meets `requirements`
   * (the connection's own, as at connect: 4401 / 4403). Re-checks are spread over time.
   */
  watch(
    principal: ConnectionPrincipal,
    close: (code: number, reason: string) => void,
    requirements?: readonly string[] | ConnectionRequirements | RouteChecks,
  ): () => void {
    const checks = requirements === undefined || isCompiled(requirements) ? requirements : this.compileRequirements(requirements);
    const entry = this.watcher.startWatching(principal, close, checks);
    return () => this.watcher.unwatch(entry);
  }

  /**
   * Authenticates a WebSocket upgrade request with `websocket.tokenSources` and records the socket for `TokenGuard`.
   * Used by `authenticateWebSockets()`; call it yourself for other adapters. Resolves to the principal, or closes the
   * socket (4400/4401/4403/1013 with the reason) and resolves to undefined. Never rejects.
   */
  async handshake(
    socket: SocketLike,
    request: unknown,
    requirements: readonly string[] | ConnectionRequirements | RouteChecks = [],
  ): Promise<ConnectionPrincipal | undefined> {
    this.handshakeSources ??= compileTokenSources(this.options.websocket.tokenSources, this.options.maxTokenLength, false);
    const checks = isCompiled(requirements) ? requirements : this.compileRequirements(requirements);
    return authenticateHandshake(this.host, this.handshakeSources, socket, request, checks);
  }

  /**
   * Hooks for graphql-ws with `@nestjs/graphql` (Apollo or Mercurius): the token comes from `connectionParams`
   * (`websocket.connectionParam`, `Bearer <token>` or raw), is checked on connect — a refused connection is closed
   * with 4400/4401/4403/1013 — and is watched like any connection. Spread them into the driver's options:
   * `subscriptions: { 'graphql-ws': { ...authenticator.graphqlWs() } }`. `TokenGuard` and `@Introspected()` then work
   * in subscription resolvers (`@nestjs/apollo` passes the graphql-ws context as `req`; other drivers: put `extra` in the
   * GraphQL context). `requirements`: scopes every subscription connection needs, or `ConnectionRequirements`
   * (e.g. `{ requirementsOf: MyResolver }` to apply the resolver class's `@Roles()`, `@RequireAuthentication()`, …
   * at connect). Default none. Resolvers' own decorators apply per operation either way.
   */
  graphqlWs(requirements: readonly string[] | ConnectionRequirements = []): {
    onConnect: (ctx: { connectionParams?: Readonly<Record<string, unknown>>; extra: unknown }) => Promise<boolean>;
  } {
    return graphqlWsHooks(this.host, this.compileRequirements(requirements) ?? []);
  }

  /** Logs an unexpected failure of connection handling (rate-limited). Internal. */
  reportError(error: unknown): void {
    this.log.error('connection', `Handling a WebSocket connection failed: ${(error as Error)?.message ?? String(error)}`);
  }

  /** `websocket.maxPendingMessages`. */
  get maxPendingMessages(): number {
    return this.options.websocket.maxPendingMessages;
  }

  /** Whether handshakes' origins are checked (`websocket.allowedOrigins`, or a cookie source). */
  get originPolicy(): boolean {
    return this.options.websocket.allowedOrigins !== undefined;
  }

  /** `websocket.maxPendingBytes`. */
  get maxPendingBytes(): number {
    return this.options.websocket.maxPendingBytes;
  }

  /**
   * Whether a WebSocket upgrade request may open a connection per `websocket.allowedOrigins` (see the option): its
   * `Origin` is listed, or names its own `Host` (the default with a cookie source), or it has no `Origin` (not a browser).
   * `authenticateWebSockets()` refuses the others before the upgrade (HTTP 403) where the adapter lets it, and at the
   * handshake (4403) otherwise.
   */
  originAllowed(request: unknown, allowed: readonly string[] | 'same-origin' | undefined = this.options.websocket.allowedOrigins): boolean {
    return originAllowed(request, allowed);
  }

  /** Open connections under watch (for metrics and tests). */
  get watchedConnections(): number {
    return this.watcher.size;
  }

  onApplicationShutdown(): void {
    this.watcher.stopAll();
  }
}
