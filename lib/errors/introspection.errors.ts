/**
 * Engine errors. They know nothing of HTTP: the guard maps them, once, to RFC 6750 responses.
 * Each has a stable `name` and `code`, and keeps the underlying failure as the standard `cause`.
 */

/** Why the authorization server could not give an answer. Stable values, safe to switch on. */
export type UnavailableReason =
  /** No TCP connection (refused, reset, DNS failure). */
  | 'connection_failed'
  /** An attempt or the overall deadline timed out, or the caller's own deadline passed. */
  | 'timeout'
  /** The endpoint answered 5xx. */
  | 'server_error'
  /** The endpoint answered 429 Too Many Requests. */
  | 'rate_limited'
  /** The endpoint answered something that is not an RFC 7662 response (HTML, non-JSON, non-boolean `active`, too large). */
  | 'invalid_response'
  /** Something unexpected failed while preparing or sending the request (see `cause`). */
  | 'unexpected_error'
  /** The endpoint rejected *our* client credentials (401/403): a configuration problem on this side. */
  | 'client_authentication_failed'
  /** Another unexpected HTTP status (e.g. 400, 404). */
  | 'unexpected_status'
  /** Metadata discovery (RFC 8414 / OpenID Connect) could not reach the authorization server (no answer, 5xx, 429). */
  | 'discovery_failed'
  /**
   * Metadata discovery got an answer that shows a configuration mistake: no metadata document at the issuer's
   * well-known URLs (e.g. a realm path that does not exist), metadata for another issuer (e.g. a trailing slash),
   * no `introspection_endpoint` listed, an insecure endpoint. A configuration error, not an outage.
   */
  | 'discovery_misconfigured'
  /** The circuit breaker is open: recent calls failed, so we fail fast without calling. */
  | 'circuit_open'
  /** Too many concurrent calls to the authorization server are in flight or queued. */
  | 'overloaded';

/** Base class of every error this library throws. */
export abstract class TokenIntrospectionError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The authorization server could not say whether the token is valid (down, slow, erroring,
 * overloaded, circuit open, or refusing our credentials). This never means "the token is invalid":
 * answer 503 with `Retry-After: retryAfterSeconds`, not 401.
 */
export class AuthorizationServerUnavailableError extends TokenIntrospectionError {
  readonly code = 'AUTHORIZATION_SERVER_UNAVAILABLE';
  constructor(
    /** What went wrong. */
    readonly reason: UnavailableReason,
    /** A hint for clients: seconds after which a retry may succeed (at least 1). */
    readonly retryAfterSeconds: number,
    message: string,
    options?: { cause?: unknown; status?: number; retryAfterFromServer?: boolean; circuitOpenedBy?: UnavailableReason },
  ) {
    super(message, options);
    this.status = options?.status;
    this.retryAfterFromServer = options?.retryAfterFromServer === true;
    if (options?.circuitOpenedBy !== undefined) this.circuitOpenedBy = options.circuitOpenedBy;
  }
  /** HTTP status the authorization server answered with, when it answered. */
  readonly status?: number;
  /** True when `retryAfterSeconds` comes from the authorization server's own `Retry-After` header. */
  readonly retryAfterFromServer: boolean;
  /**
   * With `circuit_open`: the reason of the failure that opened the circuit breaker (the last one counted before it
   * opened, e.g. `rate_limited` after a run of 429s). `fail-open` and `@OptionalToken()` let a request through on an
   * open breaker only when this reason is itself a real outage. Undefined for other reasons.
   */
  readonly circuitOpenedBy?: UnavailableReason;
  /**
   * True when the cause is this API's configuration, not an outage: `discovery_misconfigured`,
   * `client_authentication_failed`, `unexpected_status` (not an introspection endpoint). Such failures never
   * feed the circuit breaker; they are retried at a slow, bounded pace until the configuration is fixed.
   */
  get configurationError(): boolean {
    return CONFIGURATION_REASONS.has(this.reason);
  }
}

/** Reasons that name a configuration mistake of this API rather than trouble at the authorization server. */
export const CONFIGURATION_REASONS: ReadonlySet<UnavailableReason> = new Set<UnavailableReason>([
  'discovery_misconfigured',
  'client_authentication_failed',
  'unexpected_status',
]);

/** Why an introspected token is not accepted. */
export type InvalidTokenReason =
  /** The authorization server says `active: false` (unknown, revoked, expired at the AS, ...). */
  | 'inactive'
  /** `exp` is in the past (beyond the clock-skew leeway). */
  | 'expired'
  /** `nbf` is in the future (beyond the leeway). */
  | 'not_yet_valid'
  /** `iat` is in the future (beyond the leeway). */
  | 'issued_in_future'
  /** `aud` does not contain any of the configured audiences. */
  | 'audience_mismatch'
  /** `iss` differs from the configured `expectedIssuer`. */
  | 'issuer_mismatch'
  /** The token is active but not an access token (a refresh or ID token, per `token_type`, `token_use` or `typ`). */
  | 'not_access_token'
  /** The token is sender-constrained (`cnf`, or `token_type: DPoP`) and was presented without a proof of possession. */
  | 'sender_constrained'
  /**
   * The authorization server refused to introspect the token with an RFC 6749 error about the token
   * itself (HTTP 4xx `invalid_request`, `invalid_token`, `unsupported_token_type` — e.g. a JWT-shaped
   * string sent to an AS that only introspects its opaque tokens).
   */
  | 'rejected_by_authorization_server'
  /** A JWT access token that is malformed, uses an algorithm outside `jwt.algorithms`, or lacks a required claim. */
  | 'invalid_jwt'
  /** A JWT access token whose signature does not verify with any key of the authorization server. */
  | 'invalid_signature'
  /** A JWT access token that was evicted (`evict()`, webhook) or found inactive at the AS: refused until it expires. */
  | 'revoked'
  /** A JWT-shaped token, and `jwt.mode` is `'refuse'`. */
  | 'jwt_not_accepted'
  /** Presented under the DPoP scheme, but the token is not DPoP-bound (no `cnf.jkt`). */
  | 'not_dpop_bound'
  /** Presented under the DPoP scheme, but bound to another key than the one that signed the proof (`cnf.jkt`). */
  | 'dpop_key_mismatch'
  /** Bound to a client certificate (`cnf.x5t#S256`) that this connection did not present. */
  | 'certificate_mismatch'
  /** With `tenants`: the request names no configured tenant (`tenantResolver`); no authorization server was asked. */
  | 'unknown_tenant';

/** The token is not (or no longer) valid for this API: answer 401 `invalid_token`. */
export class InvalidTokenError extends TokenIntrospectionError {
  readonly code = 'INVALID_TOKEN';
  constructor(
    readonly reason: InvalidTokenReason,
    message = describeInvalidToken(reason),
  ) {
    super(message);
  }
}

/** The module options are wrong. Thrown once, at start-up; the message says what to change. */
export class IntrospectionConfigurationError extends TokenIntrospectionError {
  readonly code = 'INVALID_CONFIGURATION';
}

/** Human-readable descriptions of invalid-token reasons (safe to send to clients). */
export function describeInvalidToken(reason: InvalidTokenReason): string {
  switch (reason) {
    case 'inactive':
      return 'The access token is not active (unknown, revoked or expired).';
    case 'expired':
      return 'The access token has expired.';
    case 'not_yet_valid':
      return 'The access token is not valid yet.';
    case 'issued_in_future':
      return 'The access token was issued in the future.';
    case 'audience_mismatch':
      return 'The access token was not issued for this API (audience mismatch).';
    case 'issuer_mismatch':
      return 'The access token was not issued by the expected issuer.';
    case 'not_access_token':
      return 'The token is not an access token.';
    case 'sender_constrained':
      return 'The access token is bound to a key (sender-constrained) and cannot be used as a bearer token.';
    case 'not_dpop_bound':
      return 'The access token is not DPoP-bound: send it with the Bearer scheme.';
    case 'dpop_key_mismatch':
      return 'The access token is bound to another key than the one that signed the DPoP proof.';
    case 'certificate_mismatch':
      return 'The access token is bound to a client certificate this connection did not present.';
    case 'unknown_tenant':
      return 'The request names no tenant this API serves.';
    case 'rejected_by_authorization_server':
      return 'The authorization server does not accept this access token.';
    case 'invalid_jwt':
      return 'The access token is not a valid JWT access token (malformed, algorithm not allowed, or a required claim missing).';
    case 'invalid_signature':
      return 'The access token signature does not verify with the keys of the authorization server.';
    case 'revoked':
      return 'The access token has been revoked.';
    case 'jwt_not_accepted':
      return 'JWT access tokens are not accepted by this API.';
  }
}

/**
 * The client-facing text of a 503: that the token cannot be verified right now, and when to retry. The reason
 * (which may say that this API's own credentials are refused) is left out unless `exposeReason` (the
 * development option `exposeOutageReason`): it goes to logs, metrics, events and health details instead.
 */
export function outageMessage(outage: { reason: UnavailableReason; retryAfterSeconds: number }, exposeReason = false): string {
  return `The authorization server cannot verify the access token right now${exposeReason ? ` (${outage.reason})` : ''}; retry after ${outage.retryAfterSeconds} s.`;
}

/**
 * Why a DPoP proof was refused: RFC 9449 §7.1 `invalid_dpop_proof`, or §8/§9 `use_dpop_nonce` when the
 * proof must carry a fresh server nonce (the response then carries one in `DPoP-Nonce`).
 */
export class DpopProofError extends Error {
  readonly code = 'INVALID_DPOP_PROOF';
  constructor(
    readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce',
    message: string,
  ) {
    super(message);
    this.name = 'DpopProofError';
  }
}
