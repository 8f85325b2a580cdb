import type { InvalidTokenReason, UnavailableReason } from '../errors/introspection.errors.js';
import type { BreakerState } from '../resilience/breaker-state.js';

/** Where a result came from. */
export type ResultSource = 'cache' | 'authorization-server' | 'stale-cache' | 'jwt';

/** Why a request or token was not accepted. */
export type TokenRejectionReason =
  | InvalidTokenReason
  | 'missing'
  | 'malformed'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'dpop_required'
  /** RFC 9470: `acr` or `auth_time` does not satisfy `@RequireAuthentication()`. */
  | 'insufficient_user_authentication'
  /** `@Roles()` / `@AnyRole()` not satisfied. */
  | 'insufficient_roles'
  /** `@RequireClaims()` / `@AnyClaim()` not satisfied. */
  | 'insufficient_claims';

/** A token was accepted. Carries a fingerprint, never the token. */
export interface TokenValidatedEvent {
  readonly fingerprint: string;
  readonly clientId?: string;
  readonly sub?: string;
  readonly scopes: readonly string[];
  readonly source: ResultSource;
  /** With `tenants`: the tenant whose engine emitted it. */
  readonly tenant?: string;
}

/** A token (or a request without a usable one) was rejected. */
export interface TokenRejectedEvent {
  /** Absent when there was no well-formed token. */
  readonly fingerprint?: string;
  readonly reason: TokenRejectionReason;
  /** For `insufficient_scope`: the scopes the route required. */
  readonly requiredScopes?: readonly string[];
  /** With `tenants`: the tenant whose engine emitted it. */
  readonly tenant?: string;
}

/** A lookup could not get an answer from the authorization server. */
export interface AuthorizationServerUnavailableEvent {
  readonly fingerprint: string;
  readonly reason: UnavailableReason;
  readonly status?: number;
  readonly retryAfterSeconds: number;
  readonly elapsedMs: number;
  /** With `tenants`: the tenant whose engine emitted it. */
  readonly tenant?: string;
}

/** The circuit breaker in front of the authorization server changed state. */
export interface CircuitStateChangeEvent {
  readonly state: BreakerState;
  readonly previous: BreakerState;
  /** With `tenants`: the tenant whose engine emitted it. */
  readonly tenant?: string;
}

/** The authorization server refused our own unexpired access token: it evidently lost its state. */
export interface AuthorizationServerResetEvent {
  /** Age of the refused token, milliseconds. */
  readonly tokenAgeMs: number;
  /** Whether cached results were purged (`purgeCacheOnAuthorizationServerReset`). */
  readonly purgedCache: boolean;
  /** With `tenants`: the tenant whose engine emitted it. */
  readonly tenant?: string;
}

/** A pushed revocation (Shared Signals SET, back-channel logout token) was handled by a receiver. */
export interface PushReceivedEvent {
  readonly receiver: 'security-events' | 'backchannel-logout';
  /** `accepted` (evicted), `ignored` (valid, nothing to evict here: unknown event, foreign subject), `refused` (400), `unavailable` (503). */
  readonly outcome: 'accepted' | 'ignored' | 'refused' | 'unavailable';
  /** The error code answered (`invalid_key`, `invalid_request`, …) when refused. */
  readonly error?: string;
  /** Why, in words safe to log (no token). */
  readonly description?: string;
  /** Event types of the token (SET `events` members). */
  readonly events?: readonly string[];
  /** Cache entries dropped on this replica and through the shared index. */
  readonly evicted?: number;
  /** Milliseconds from the token's `iat` (whole seconds) to the eviction's completion. */
  readonly timeToRevokeMs?: number;
}

/**
 * An outbound backend's token endpoint gave this API no access token, after the resilience policies
 * (retries, breaker): the backend was not called.
 */
export interface OutboundTokenUnavailableEvent {
  /** The backend's name in the `outbound` option. */
  readonly backend: string;
  readonly reason: UnavailableReason;
  readonly status?: number;
  readonly retryAfterSeconds: number;
  readonly elapsedMs: number;
}

/** A backend refused this API's own token (401, or 403 `invalid_token` with `retryOn403InvalidToken`). */
export interface OutboundTokenRefusedEvent {
  readonly backend: string;
  /** The backend's HTTP status. */
  readonly status: number;
  /** Age of the refused token, milliseconds (absent when a newer token had already replaced it). */
  readonly tokenAgeMs?: number;
  /**
   * `renewed`: the token was dropped and a new one will be fetched; `already_renewed`: a newer token had
   * replaced it already (callers refused together); `rate_limited`: kept, a refusal renewed this backend's
   * token less than 5 s ago.
   */
  readonly renewal: 'renewed' | 'already_renewed' | 'rate_limited';
  /** Whether the request is repeated once with the new token (idempotent and replayable). */
  readonly repeated: boolean;
}

/**
 * Hooks for audit and custom logic. Called synchronously and never awaited: a hook may be `async`.
 * A hook that throws or whose promise rejects is logged (rate-limited) and ignored; the request is
 * unaffected. Payloads never contain a token or a secret.
 */
export interface IntrospectionEvents {
  onTokenValidated?(event: TokenValidatedEvent): void;
  onTokenRejected?(event: TokenRejectedEvent): void;
  onAuthorizationServerUnavailable?(event: AuthorizationServerUnavailableEvent): void;
  onCircuitStateChange?(event: CircuitStateChangeEvent): void;
  onAuthorizationServerReset?(event: AuthorizationServerResetEvent): void;
  onOutboundTokenUnavailable?(event: OutboundTokenUnavailableEvent): void;
  onOutboundTokenRefused?(event: OutboundTokenRefusedEvent): void;
  onPushReceived?(event: PushReceivedEvent): void;
}
