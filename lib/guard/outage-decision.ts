import { HttpStatus } from '@nestjs/common';
import { AuthorizationServerUnavailableError, outageMessage } from '../errors/introspection.errors.js';
import type { GuardRefusal } from './challenges.js';
import type { RouteRequirements } from './route-requirements.js';

/**
 * Reasons under which `fail-open` lets a request through: the authorization server really cannot
 * answer. Never our own overload (`overloaded`), nor a 429 (`rate_limited`: unauthenticated callers can
 * provoke one with a flood of new tokens), nor a configuration error (`client_authentication_failed`,
 * `unexpected_status`, `unexpected_error`): those must not turn into unauthenticated access.
 * `circuit_open` counts only when the failure that opened the breaker is one of the others (`circuitOpenedBy`):
 * a breaker opened by 429s is no outage either.
 */
const FAIL_OPEN_REASONS: ReadonlySet<AuthorizationServerUnavailableError['reason']> = new Set([
  'connection_failed',
  'timeout',
  'server_error',
  'invalid_response',
  'discovery_failed',
  'circuit_open',
] as const);

/** What `request.introspectionOutage` holds when a `fail-open` route proceeds during an outage. */
export interface IntrospectionOutage {
  readonly reason: AuthorizationServerUnavailableError['reason'];
  readonly retryAfterSeconds: number;
}

/**
 * What the guard does when the authorization server cannot answer: the route's outage policy decides. `fail-open`
 * lets the request through (returns the outage to attach) only for the reasons above and never on a route that
 * requires scopes, roles or claims: without an answer there is nothing to check them against. On an `@OptionalToken()`
 * route its `onOutage` decides instead (`'anonymous'`: through, for the same reasons; never in GraphQL, where a sent
 * token's principal is shared by every field of the request). Else undefined: 503.
 */
export function failOpenOutage(route: RouteRequirements, unavailable: AuthorizationServerUnavailableError, graphql = false): IntrospectionOutage | undefined {
  if (!isOutage(unavailable)) return undefined;
  if (route.optional) {
    // GraphQL: every field of one HTTP request shares the request and so its principal (a sibling field may have
    // attached one): a field cannot run anonymously once a token was sent. 503.
    if (graphql) return undefined;
    // An @OptionalToken() route runs anonymously for anyone without a token: running so during an outage grants nothing
    // more, whatever the route requires of a token (its requirements apply to principals only). `onOutage` decides.
    if (route.optional.onOutage !== 'anonymous') return undefined;
  } else {
    const requiresScopes = route.allScopes.length > 0 || route.anyScopes.length > 0 || route.checks !== undefined;
    if (route.outagePolicy !== 'fail-open' || requiresScopes) return undefined;
  }
  return { reason: unavailable.reason, retryAfterSeconds: unavailable.retryAfterSeconds };
}

/** A real outage: a fail-open reason, or an open breaker that such a failure opened. */
function isOutage(unavailable: AuthorizationServerUnavailableError): boolean {
  if (unavailable.reason !== 'circuit_open') return FAIL_OPEN_REASONS.has(unavailable.reason);
  const openedBy = unavailable.circuitOpenedBy;
  return openedBy !== undefined && openedBy !== 'circuit_open' && FAIL_OPEN_REASONS.has(openedBy);
}

/** The rate-limited warning (key, message) when a route lets a request through during an outage. */
export function failOpenWarning(reason: AuthorizationServerUnavailableError['reason']): [string, string] {
  return [
    `fail-open:${reason}`,
    `Authorization server unavailable (${reason}); a fail-open or @OptionalToken() route let a request through without a principal.`,
  ];
}

/** Any failure of a lookup as the outage it is: an unexpected one is `unexpected_error`. */
export function asUnavailable(error: unknown, retryAfterSeconds: number): AuthorizationServerUnavailableError {
  return error instanceof AuthorizationServerUnavailableError
    ? error
    : new AuthorizationServerUnavailableError(
        'unexpected_error',
        retryAfterSeconds,
        `Token introspection failed unexpectedly: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
}

/** 503 with `Retry-After`: the authorization server cannot answer (the body names the reason only with `exposeOutageReason`). */
export function outageRefusal(unavailable: AuthorizationServerUnavailableError, exposeReason: boolean): GuardRefusal {
  return {
    status: HttpStatus.SERVICE_UNAVAILABLE,
    headers: { 'Retry-After': String(unavailable.retryAfterSeconds) },
    message: outageMessage(unavailable, exposeReason),
  };
}
