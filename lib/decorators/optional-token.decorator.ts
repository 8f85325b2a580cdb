import { SetMetadata } from '@nestjs/common';
import { OPTIONAL_TOKEN_KEY } from '../introspection.constants.js';

/** How an `@OptionalToken()` route treats a token it cannot accept, and an authorization server that cannot answer. */
export interface OptionalTokenOptions {
  /**
   * A token that is sent but refused — inactive, revoked, expired, for another audience, malformed (400), another
   * `Authorization` scheme, a Bearer token on a `@RequireDpop()` route:
   * - `'refuse'` (default): the usual RFC 6750 answer (401 `invalid_token`, 400 `invalid_request`, 401 bare `Bearer`
   *   challenge), so a client learns its token is bad instead of silently getting the anonymous answer;
   * - `'anonymous'`: the handler runs without a principal, as if no token had been sent. The client never learns that
   *   its token stopped working (a signed-in user sees the anonymous page), and the route answers every bad token
   *   with 200: choose it only where that is what users should see. Not in GraphQL: the fields of one request share
   *   its principal (a sibling field may have attached one), so a sent token that is refused is refused there.
   *
   * Never affected: an invalid DPoP proof or a missing DPoP nonce (401, the client must retry with a good proof), and the
   * requirements of the route on a token that is accepted (`@Scopes()` → 403, `@RequireAuthentication()` → 401).
   */
  readonly invalidToken?: 'refuse' | 'anonymous';
  /**
   * The authorization server cannot answer about a sent token and there is no stale answer (`serve-stale`):
   * - `'anonymous'` (default): the handler runs without a principal and `request.introspectionOutage` says why, as
   *   under `fail-open` — it grants nothing that a request without a token does not get. Only for a real outage
   *   (unreachable, timeout, 5xx, a breaker opened by these); our own full queue, a 429 (or a breaker opened by 429s) or a
   *   configuration error still answer 503. Not in GraphQL, where a sent token's principal is shared by every field: 503;
   * - `'fail-closed'`: 503 with `Retry-After`.
   */
  readonly onOutage?: 'anonymous' | 'fail-closed';
}

/** `OptionalTokenOptions` with the defaults filled in, as route metadata. */
export type ResolvedOptionalToken = Required<OptionalTokenOptions>;

/**
 * Marks a handler or a controller where a token is optional (e.g. a catalogue that shows prices per customer):
 * - no token: the handler runs without a principal (`request.user` unset, `@Introspected()` undefined), no AS call;
 * - a valid token: the principal is attached as on any protected route, and the route's `@Scopes()`, `@Roles()`,
 *   `@RequireClaims()`, `@RequireAuthentication()`, `@RequireDpop()` apply to it (403 / 401 when they fail);
 * - a refused token: 401 / 400 with the RFC 6750 challenge (or anonymous: `invalidToken: 'anonymous'`);
 * - the AS cannot answer: a stale answer under `serve-stale`, else anonymous (or 503: `onOutage: 'fail-closed'`).
 *
 * A handler's `@OptionalToken()` wins over its controller's `@Public()`, a handler's `@Public()` over its controller's
 * `@OptionalToken()`; both on the same level: optional, with a start-up warning. A handler's own requirements (`@Scopes()`,
 * `@Roles()`, claims, step-up, ...) win over its controller's `@OptionalToken()`, as over its `@Public()`: a token is required. WebSocket and microservice messages
 * keep the authentication of their connection or message (see the connections capability).
 */
export function OptionalToken(options: OptionalTokenOptions = {}): ClassDecorator & MethodDecorator {
  const { invalidToken = 'refuse', onOutage = 'anonymous' } = options ?? {};
  if (invalidToken !== 'refuse' && invalidToken !== 'anonymous') {
    throw new Error(`@OptionalToken({ invalidToken }) takes 'refuse' or 'anonymous'; got ${JSON.stringify(invalidToken)}.`);
  }
  if (onOutage !== 'anonymous' && onOutage !== 'fail-closed') {
    throw new Error(`@OptionalToken({ onOutage }) takes 'anonymous' or 'fail-closed'; got ${JSON.stringify(onOutage)}.`);
  }
  const resolved: ResolvedOptionalToken = Object.freeze({ invalidToken, onOutage });
  return SetMetadata(OPTIONAL_TOKEN_KEY, resolved);
}
