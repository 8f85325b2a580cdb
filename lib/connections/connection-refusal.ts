import type { RoleExtractor } from '../authorization/role-mappers.js';
import { AuthorizationServerUnavailableError, describeInvalidToken, outageMessage } from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { evaluateRouteChecks, type RouteChecks } from '../guard/route-checks.js';

/**
 * Close codes of refused or ended connections: the HTTP status in the 4000–4999 range applications own
 * (RFC 6455 §7.4.2), and 1013 "Try Again Later" when the authorization server cannot answer.
 */
export const CLOSE_CODES = {
  /** Malformed credentials (two sources, junk characters, too long): `invalid_request`. */
  invalid_request: 4400,
  /** No token, or a token that is (or became) inactive, expired, revoked or evicted, or is for another resource: `invalid_token`. */
  invalid_token: 4401,
  /** RFC 9470 step-up: the token's `acr` / `auth_time` do not meet the connection's `@RequireAuthentication()`. */
  insufficient_user_authentication: 4401,
  /** The token lacks a scope, role or claim value the connection requires: `insufficient_scope`. */
  insufficient_scope: 4403,
  /** The handshake's `Origin` is not one of `websocket.allowedOrigins` (cross-site WebSocket hijacking). */
  origin_not_allowed: 4403,
  /** The authorization server cannot answer now: reconnect later. */
  temporarily_unavailable: 1013,
  /** Too many messages before the token was checked. */
  policy_violation: 1008,
  /** More than `websocket.maxPendingBytes` sent before the token was checked. */
  message_too_big: 1009,
} as const;

/**
 * Why a connection or a message was refused: the RFC 6750 error code, the HTTP status it stands for, the close
 * code of the connection, and a message safe to send to the client (never the token).
 */
export class ConnectionRefusedError extends Error {
  readonly code = 'CONNECTION_REFUSED';
  constructor(
    readonly error:
      'invalid_request' | 'invalid_token' | 'insufficient_user_authentication' | 'insufficient_scope' | 'origin_not_allowed' | 'temporarily_unavailable',
    readonly status: 400 | 401 | 403 | 503,
    message: string,
    readonly retryAfterSeconds?: number,
    /** RFC 9470 step-up (`insufficient_user_authentication`): what a new authentication must satisfy. */
    readonly stepUp?: { readonly acrValues?: string; readonly maxAge?: number },
  ) {
    super(message);
    this.name = 'ConnectionRefusedError';
  }

  /** The close code for this refusal (`CLOSE_CODES`). */
  get closeCode(): number {
    return CLOSE_CODES[this.error];
  }

  /** The error object sent to clients: `{ status, error, message, retryAfterSeconds?, acrValues?, maxAge? }`. */
  toJSON(): { status: number; error: string; message: string; retryAfterSeconds?: number; acrValues?: string; maxAge?: number } {
    return {
      status: this.status,
      error: this.error,
      message: this.message,
      ...(this.retryAfterSeconds ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
      ...(this.stepUp?.acrValues !== undefined ? { acrValues: this.stepUp.acrValues } : {}),
      ...(this.stepUp?.maxAge !== undefined ? { maxAge: this.stepUp.maxAge } : {}),
    };
  }
}

/** Introspects a token for a connection or a message: the active result, or a `ConnectionRefusedError`. Internal. */
export async function checkToken(
  introspection: IntrospectionService,
  options: ResolvedOptions,
  token: string,
  presentation: TokenPresentation,
  caller?: string,
): Promise<ActiveIntrospectionResult> {
  let result;
  try {
    result = await introspection.introspect(token, { presentation, caller });
  } catch (error) {
    const retryAfter = error instanceof AuthorizationServerUnavailableError ? error.retryAfterSeconds : options.resilience.retryAfterSeconds;
    const reason = error instanceof AuthorizationServerUnavailableError ? error.reason : 'unexpected_error';
    throw new ConnectionRefusedError(
      'temporarily_unavailable',
      503,
      outageMessage({ reason, retryAfterSeconds: retryAfter }, options.exposeOutageReason),
      retryAfter,
    );
  }
  if (!result.active) throw new ConnectionRefusedError('invalid_token', 401, describeInvalidToken(result.reason));
  return result;
}

/** The route's checks (`evaluateRouteChecks`) as a `ConnectionRefusedError`: 401-type → 4401 / 401, 403-type → 4403 / 403. Internal. */
export function routeRefusal(
  checks: RouteChecks,
  result: ActiveIntrospectionResult,
  roles: RoleExtractor,
  clockSkewSeconds: number,
): ConnectionRefusedError | undefined {
  const refusal = evaluateRouteChecks(checks, result, roles, clockSkewSeconds);
  if (!refusal) return undefined;
  if (refusal.error === 'insufficient_user_authentication') {
    return new ConnectionRefusedError(refusal.error, 401, refusal.description, undefined, { acrValues: refusal.acrValues, maxAge: refusal.maxAge });
  }
  return new ConnectionRefusedError(refusal.error, refusal.status, refusal.description);
}
