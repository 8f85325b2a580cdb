/**
 * Engine errors. They know nothing of HTTP: the guard maps them, once, to RFC 6750 responses.
 * Each has a stable `name` and `code`, and keeps the underlying failure as the standard `cause`.
 */
/** Base class of every error this library throws. */
export class TokenIntrospectionError extends Error {
    constructor(message, options) {
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
    constructor(
    /** What went wrong. */
    reason, 
    /** A hint for clients: seconds after which a retry may succeed (at least 1). */
    retryAfterSeconds, message, options) {
        super(message, options);
        this.reason = reason;
        this.retryAfterSeconds = retryAfterSeconds;
        this.code = 'AUTHORIZATION_SERVER_UNAVAILABLE';
        this.status = options?.status;
        this.retryAfterFromServer = options?.retryAfterFromServer === true;
    }
}
/** The token is not (or no longer) valid for this API: answer 401 `invalid_token`. */
export class InvalidTokenError extends TokenIntrospectionError {
    constructor(reason, message = describeInvalidToken(reason)) {
        super(message);
        this.reason = reason;
        this.code = 'INVALID_TOKEN';
    }
}
/** The module options are wrong. Thrown once, at start-up; the message says what to change. */
export class IntrospectionConfigurationError extends TokenIntrospectionError {
    constructor() {
        super(...arguments);
        this.code = 'INVALID_CONFIGURATION';
    }
}
/** Human-readable descriptions of invalid-token reasons (safe to send to clients). */
export function describeInvalidToken(reason) {
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
