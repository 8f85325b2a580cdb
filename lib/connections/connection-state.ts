import type { ActiveIntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { BearerExtraction } from '../guard/bearer.js';
import type { RouteChecks } from '../guard/route-checks.js';
import type { ConnectionRefusedError } from './connection-refusal.js';

/** An authenticated long-lived connection: its token, the latest validated result, how it was presented. */
export interface ConnectionPrincipal {
  readonly token: string;
  result: ActiveIntrospectionResult;
  readonly presentation: TokenPresentation;
  /** The client's fair-queue key (its address), used again by re-checks. */
  readonly caller?: string;
}

/**
 * What every connection must satisfy at connect (and at each re-check): `authenticateWebSockets(adapter, app, …)`,
 * `graphqlWs(…)`, `authenticate(…)`. Message handlers add their own decorators on top, checked per message.
 */
export interface ConnectionRequirements {
  /** Scopes every connection needs. Default none. */
  requiredScopes?: readonly string[];
  /**
   * A class — typically the gateway or the subscription resolver — whose own (class-level) `@Scopes()`, `@AnyScope()`,
   * `@Roles()`, `@AnyRole()`, `@RequireClaims()`, `@AnyClaim()`, `@RequireAuthentication()` and `@ProtectedResource()`
   * every connection must satisfy. Read once. A refusal closes the connection: 4401 for a token of another resource or
   * a step-up (`insufficient_user_authentication`), 4403 for scopes, roles and claims. Default none.
   */
  requirementsOf?: abstract new (...args: never[]) => unknown;
}

/** The state of a WebSocket (or graphql-ws) connection, per socket. Internal. */
export interface ConnectionState {
  /** Settles when the handshake token has been checked. */
  ready: Promise<ConnectionPrincipal | undefined>;
  principal?: ConnectionPrincipal;
  refusal?: ConnectionRefusedError;
}

/** Sockets authenticated by `authenticateWebSockets()` or `graphqlWs()`, for `TokenGuard` in `ws` / `graphql` contexts. */
export const connections = new WeakMap<object, ConnectionState>();

/**
 * What the handshake (`connection-handshake.ts`) and the graphql-ws hooks (`graphql-ws.ts`) need of
 * `ConnectionAuthenticator`: its options and log, and its methods (bound to it, so that a subclass's overrides apply).
 * Internal.
 */
export interface ConnectionHost {
  readonly options: ResolvedOptions;
  readonly log: RateLimitedLogger;
  compileRequirements(requirements: readonly string[] | ConnectionRequirements): RouteChecks | undefined;
  originAllowed(request: unknown, allowed: readonly string[] | 'same-origin' | undefined): boolean;
  /** Authenticates a connection's token and starts watching it (`ConnectionWatch.authenticateAndWatch`). */
  authenticateAndWatch(
    extraction: BearerExtraction,
    checks: RouteChecks | readonly string[],
    presentation: TokenPresentation,
    caller: string | undefined,
    close: (code: number, reason: string) => void,
    onClose: (stop: () => void) => void,
  ): Promise<ConnectionPrincipal>;
}

/** Whether connection requirements are already compiled (`compileRequirements`). Internal. */
export function isCompiled(value: unknown): value is RouteChecks {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Array.isArray((value as { allRoles?: unknown }).allRoles);
}

/** Whether a value is a `BearerExtraction` (what a token source read), not a token value. Internal. */
export function isExtraction(value: unknown): value is BearerExtraction {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    ['token', 'missing', 'malformed', 'other_scheme'].includes((value as { kind: string }).kind)
  );
}
