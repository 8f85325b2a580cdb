import { isStaleConnectionError } from '../client/stale-connection.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';

// Which failures of an authorization-server call count, and how much: the reasons that feed the
// circuit breaker, the weight of each failed attempt, and which failures are retried.

/**
 * Reasons that say the authorization server itself is in trouble: the only ones that feed the
 * circuit breaker. Deliberately absent: anything about one token (a 4xx about the token is an
 * inactive verdict, not an error), our own credentials or configuration (`client_authentication_failed`,
 * `unexpected_status`), an answer that is not RFC 7662 (`invalid_response`: it can be specific to one
 * token), and our own overload or deadlines (`overloaded`, cancellations) — so nothing an
 * unauthenticated caller sends can open the breaker.
 */
const BREAKER_REASONS: ReadonlySet<AuthorizationServerUnavailableError['reason']> = new Set([
  'connection_failed',
  'timeout',
  'server_error',
  'rate_limited',
  'discovery_failed',
] as const);

/**
 * Weights of failed attempts, in lookup-equivalents (see {@link WeightedConsecutiveBreaker}).
 *
 * - Nothing listens, no route, no such host, or a new connection was reset before any response
 *   (`ECONNREFUSED`, `EHOSTUNREACH`, `ENETUNREACH`, `ENOTFOUND`, `ECONNRESET`, `EPIPE`): the address
 *   we call is down as a whole — strong evidence.
 * - A kept-alive connection reused from the pool that dropped before any response (a stale connection:
 *   a middlebox or the server closed it while idle): no evidence about the AS. The HTTP client already
 *   replays such a request once on a fresh connection (`createAuthorizationServerHttp`); if the
 *   replay meets another stale connection, the attempt weighs like a 5xx and is retried without backoff.
 * - Silence: no answer within the full attempt timeout, or the lookup's deadline passed while the AS
 *   held it for at least half of it — strong evidence.
 * - Everything else that is AS trouble (5xx, 429, TLS and other transport errors, discovery
 *   failures that are not the above): one node behind a load balancer can produce it while the
 *   others answer, so an attempt weighs `1 / (retries + 1)`: a lookup that failed all its attempts
 *   counts 1, as when the breaker counted lookups.
 *
 * False trips: if a fraction `f` of the AS's nodes fails in one way, `k = ceil(consecutiveFailures / w)`
 * attempts in a row must fail for the breaker to open, probability `f^k` per run of attempts
 * (default 5: strong `w = 2` → `k = 3`; others `w = 1/3` → `k = 15`, as before).
 */
const STRONG_WEIGHT = 2;
/** True when the error, or one in its `cause` chain, is a stale kept-alive connection ({@link isStaleConnectionError}). */
export function staleConnection(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  return isStaleConnectionError(error) || staleConnection((error as { cause?: unknown }).cause, depth + 1);
}
/** Error codes of a call that got no response at all: nothing listens, nothing to connect to, or the connection dropped. */
const NO_RESPONSE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'ECONNRESET', 'EPIPE']);

/** Errors that are silence of the AS (no answer within the attempt timeout or the lookup's deadline). */
const SILENCES = new WeakSet<Error>();

/** The error code of a transport failure, looked up through `cause` chains and aggregate errors. */
function transportCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 4) return undefined;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && NO_RESPONSE_CODES.has(e.code)) return e.code;
  if (Array.isArray(e.errors)) for (const inner of e.errors) if (transportCode(inner, depth + 1)) return transportCode(inner, depth + 1);
  return transportCode(e.cause, depth + 1);
}

/** Marks an error as the AS's silence (a strong sign of an outage for the breaker). */
export function silence<E extends Error>(error: E): E {
  SILENCES.add(error);
  return error;
}

/** No call was made: the server's `Retry-After` has not passed. Neither retried nor counted by the breaker. */
export class HoldOffError extends Error {}

/** A health probe's own (short) timeout: counted only as the failed test call of a half-open breaker. */
export class ProbeTimeoutError extends Error {}

/** True when a failed attempt shows AS trouble and so counts against a closed breaker (see {@link BREAKER_REASONS}). */
export function countsAgainstBreaker(error: Error): boolean {
  return error instanceof ProbeTimeoutError || (error instanceof AuthorizationServerUnavailableError && BREAKER_REASONS.has(error.reason));
}

/**
 * The weight of a counted failure (see {@link STRONG_WEIGHT}): strong for silence and for a call that
 * got no response at all (unless over a stale connection), `otherWeight` for everything else.
 */
export function failureWeight(error: Error, otherWeight: number): number {
  return SILENCES.has(error) || (transportCode(error.cause) && !staleConnection(error)) ? STRONG_WEIGHT : otherWeight;
}

/** True when a failed attempt is worth another one (transient AS trouble, and no long `Retry-After`). */
export function isRetryable(error: Error, retryMaxDelayMs: number): boolean {
  if (!(error instanceof AuthorizationServerUnavailableError)) return false;
  switch (error.reason) {
    case 'connection_failed':
    case 'timeout':
    case 'server_error':
    case 'discovery_failed':
    case 'rate_limited':
      // A Retry-After longer than our own largest backoff would eat the request's deadline: give up and pass the hint on.
      return !error.retryAfterFromServer || error.retryAfterSeconds * 1000 <= retryMaxDelayMs;
    default:
      return false;
  }
}
