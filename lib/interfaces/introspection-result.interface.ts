import type { InvalidTokenReason } from '../errors/introspection.errors.js';

/** How the client presented the token on this request, and what it proved. */
export interface TokenPresentation {
  /** `Authorization: Bearer` (no proof) or `Authorization: DPoP` with a verified proof. */
  readonly scheme: 'bearer' | 'dpop';
  /** RFC 7638 thumbprint of the key that signed the verified DPoP proof. */
  readonly dpopJkt?: string;
  /** base64url SHA-256 thumbprint of the client certificate of the connection (RFC 8705 §3). */
  readonly certificateThumbprint?: string;
}

/**
 * An RFC 7662 §2.2 introspection response for an active token, after validation.
 * Field names are the RFC's; claims this library does not know are preserved as they came.
 * Derived conveniences (`scopes`, `stale`) sit beside them.
 */
export interface ActiveIntrospectionResult {
  readonly active: true;
  /** Space-separated scopes, as the authorization server sent them. */
  readonly scope?: string;
  readonly client_id?: string;
  readonly username?: string;
  readonly token_type?: string;
  /** Expiry, seconds since the epoch. */
  readonly exp?: number;
  /** Issued at, seconds since the epoch. */
  readonly iat?: number;
  /** Not before, seconds since the epoch. */
  readonly nbf?: number;
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  readonly iss?: string;
  readonly jti?: string;
  /** Derived: `scope` split on spaces (empty when the response has no `scope`). */
  readonly scopes: readonly string[];
  /**
   * Derived: true when this result was served from cache after its freshness ended because the
   * authorization server was unavailable (`serve-stale`). Absent otherwise.
   */
  readonly stale?: true;
  /**
   * With `tenants`: the name of the tenant whose authorization server accepted the token. Set by this library (an
   * authorization server's own claim of that name is replaced); a `tenant` claim of the answer is left as it is.
   * Absent without `tenants`.
   */
  readonly introspectionTenant?: string;
  /** Any other claim the authorization server returned. */
  readonly [claim: string]: unknown;
}

/** The token is not valid for this API. The RFC allows nothing but `active: false` here. */
export interface InactiveIntrospectionResult {
  readonly active: false;
  /** Derived: why the token was not accepted. */
  readonly reason: InvalidTokenReason;
}

/** What `IntrospectionService.introspect()` resolves to. */
export type IntrospectionResult = ActiveIntrospectionResult | InactiveIntrospectionResult;

/** Per-call options of `IntrospectionService.introspect()`. */
export interface IntrospectOptions {
  /**
   * This caller's own deadline, milliseconds. When it passes the call rejects with
   * `AuthorizationServerUnavailableError` (`timeout`); a shared in-flight lookup goes on for the
   * other callers. Default: the resilience `deadlineMs`.
   */
  timeoutMs?: number;
  /** Abort this caller's wait (same effect as the deadline). */
  signal?: AbortSignal;
  /**
   * When the authorization server is unavailable, return a previously active cached result that is
   * past its freshness but within `cache.staleIfErrorSeconds` and before the token's `exp`
   * (flagged `stale: true`) instead of rejecting. Default: `outagePolicy === 'serve-stale'`.
   */
  allowStale?: boolean;
  /**
   * Who is asking — e.g. the client's IP address (`TokenGuard` passes `request.ip`). Lookups of new
   * tokens waiting for a free call to the authorization server are served round-robin between
   * callers, so one caller's flood of junk tokens cannot starve the others. Default: one shared caller.
   */
  caller?: string;
  /**
   * Revocation-sensitive use ("always ask the AS", `@RequireIntrospection()`): an opaque token skips the
   * cache read (the answer is still cached for others), and a JWT that validates locally is also introspected.
   * Default false.
   */
  requireIntrospection?: boolean;
  /**
   * Fraction (0–1) of this caller's cache hits that also re-introspect the token in the background (adaptive
   * re-check; `@Recheck()` sets it per route). The request is answered from cache at once; a revocation found
   * evicts the token everywhere, so later requests get 401. Default `cache.revalidation.recheckFraction`.
   */
  recheckFraction?: number;
  /**
   * How the token was presented and what the client proved (a verified DPoP proof's key, the client
   * certificate's thumbprint). Checked against the token's `cnf` on every call, cache hits included.
   * Default: a bare bearer token — sender-constrained tokens (`cnf`, `token_type: DPoP`) are then refused.
   */
  presentation?: TokenPresentation;
  /**
   * With `tenants`: the tenant whose authorization server decides (a configured name; any other, or none, resolves to
   * `{ active: false, reason: 'unknown_tenant' }` with no outbound call). Ignored without `tenants`.
   */
  tenant?: string;
}

/** Which tenant an eviction concerns (`IntrospectionService.evict*()`, `purge()`). */
export interface EvictOptions {
  /** With `tenants`: only this tenant's entries. Default: every tenant's. Ignored without `tenants`. */
  tenant?: string;
}
