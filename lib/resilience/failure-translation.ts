import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError, type CircuitBreakerPolicy } from 'cockatiel';
import { AuthorizationServerUnavailableError, type UnavailableReason } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { HoldOffError, ProbeTimeoutError } from './failure-classification.js';
import type { RetryAfterHoldOff } from './retry-after.js';

/** Time one lookup spent at the authorization server, milliseconds. */
export interface Progress {
  atServerMs: number;
  /** Start of the attempt in flight, if any (epoch ms). */
  inFlightSince?: number;
  /** How this lookup's last attempt failed at the AS, if it did. */
  lastFailure?: AuthorizationServerUnavailableError;
}

/** What the translation reads from the policy: the hold-off, the breaker and when it lets a probe through. */
export interface TranslationContext {
  readonly holdOff: RetryAfterHoldOff;
  readonly breaker?: CircuitBreakerPolicy;
  /** Seconds until the open breaker lets a probe through (at least 1). */
  secondsUntilHalfOpen(): number;
  /** The reason of the failure that last opened the breaker ({@link openingReason}), if it opened. */
  readonly circuitOpenedBy?: UnavailableReason;
}

/**
 * The reason a failure counted by the breaker stands for, remembered when it opens the breaker: the error's own
 * reason; a health probe's timeout is `timeout`; a call held off by the server's `Retry-After` is `rate_limited`;
 * our own full queue or deadline (only counted while half-open) is `overloaded`; anything else `unexpected_error`.
 */
export function openingReason(error: unknown): UnavailableReason {
  if (error instanceof AuthorizationServerUnavailableError) return error.reason;
  if (error instanceof ProbeTimeoutError) return 'timeout';
  if (error instanceof HoldOffError) return 'rate_limited';
  if (error instanceof BulkheadRejectedError || error instanceof TaskCancelledError) return 'overloaded';
  return 'unexpected_error';
}

/**
 * Whatever failed under the policies, as an `AuthorizationServerUnavailableError` with a retry-after hint.
 * @param progress how long this lookup spent at the authorization server (vs. waiting for a free slot).
 */
export function translateFailure(
  error: unknown,
  o: ResolvedOptions['resilience'],
  context: TranslationContext,
  progress?: Progress,
): AuthorizationServerUnavailableError {
  if (error instanceof AuthorizationServerUnavailableError) return error;
  if (error instanceof HoldOffError) return context.holdOff.error();
  if (error instanceof BrokenCircuitError) {
    // The breaker opened between two attempts of this lookup: its answer is what its attempts met.
    if (progress?.lastFailure) return progress.lastFailure;
    const breaker = context.breaker;
    return new AuthorizationServerUnavailableError(
      'circuit_open',
      context.secondsUntilHalfOpen(),
      'The circuit breaker is open after repeated failures of the authorization server; failing fast until it is probed again.',
      {
        cause: breaker?.lastFailure && 'error' in breaker.lastFailure ? breaker.lastFailure.error : error,
        circuitOpenedBy: context.circuitOpenedBy ?? 'unexpected_error',
      },
    );
  }
  if (error instanceof BulkheadRejectedError) {
    return new AuthorizationServerUnavailableError(
      'overloaded',
      o.retryAfterSeconds,
      `Too many concurrent calls to the authorization server (limit ${o.maxConcurrentCalls}, queue ${o.maxQueuedCalls}).`,
      { cause: error },
    );
  }
  if (error instanceof TaskCancelledError) {
    // The deadline passed. If most of it went by waiting for a free slot rather than at the
    // authorization server, that is our own overload (a flood of lookups), not AS slowness.
    const atServerMs = (progress?.atServerMs ?? 0) + (progress?.inFlightSince ? Date.now() - progress.inFlightSince : 0);
    return !progress || atServerMs * 2 >= o.deadlineMs
      ? new AuthorizationServerUnavailableError(
          'timeout',
          o.retryAfterSeconds,
          `The authorization server did not answer in time (attempt timeout ${o.attemptTimeoutMs} ms, deadline ${o.deadlineMs} ms).`,
          { cause: error },
        )
      : new AuthorizationServerUnavailableError(
          'overloaded',
          o.retryAfterSeconds,
          `No free slot for a call to the authorization server within the deadline (${o.deadlineMs} ms; limit ${o.maxConcurrentCalls} concurrent calls).`,
          { cause: error },
        );
  }
  return new AuthorizationServerUnavailableError(
    'unexpected_error',
    o.retryAfterSeconds,
    `Calling the authorization server failed unexpectedly: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  );
}
