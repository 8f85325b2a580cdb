import {
  CircuitState,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  noop,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { AuthorizationServerUnavailableError, type UnavailableReason } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { BreakerState } from './breaker-state.js';
import { FairQueue } from './fair-queue.js';
import { HoldOffError, ProbeTimeoutError, countsAgainstBreaker, failureWeight, isRetryable, silence } from './failure-classification.js';
import { openingReason, translateFailure, type Progress } from './failure-translation.js';
import { RetryAfterAwareBackoff, RetryAfterHoldOff } from './retry-after.js';
import { WeightedConsecutiveBreaker } from './weighted-breaker.js';

export type { BreakerState } from './breaker-state.js';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * Every call to the authorization server goes through here (cockatiel policies, outermost first):
 * `Retry-After` hold-off → overall deadline → retry (transient failures only, exponential backoff
 * with decorrelated jitter, honouring a short `Retry-After`) → circuit breaker (sees each attempt;
 * counts AS trouble only, weighted by how clearly it shows an outage — {@link WeightedConsecutiveBreaker})
 * → bulkheads (cap concurrent HTTP calls; new tokens get fewer slots than re-validations of
 * known-active tokens, shared round-robin between callers) → per-attempt timeout.
 * Whatever fails comes out as an `AuthorizationServerUnavailableError` with a retry-after hint.
 */
export class ResiliencePolicy {
  private readonly outer: IPolicy;
  private readonly allCalls: IPolicy;
  /** New-token lookups: fewer slots than all calls, and fair between callers. */
  private readonly newTokenCalls: FairQueue;
  private readonly attemptTimeout;
  private readonly breaker?: CircuitBreakerPolicy;
  private openedAt = 0;
  /** The reason of the failure that last opened the breaker: carried by `circuit_open` (the guard's fail-open reads it). */
  private openedBy?: UnavailableReason;
  /** No call before the time the authorization server asked us to wait for (`Retry-After`). */
  private readonly holdOff = new RetryAfterHoldOff();
  private readonly listeners = new Set<(state: BreakerState) => void>();
  private readonly probeTimeouts = new Map<number, IPolicy>();

  constructor(private readonly options: ResolvedOptions['resilience']) {
    const o = options;
    this.attemptTimeout = timeout(o.attemptTimeoutMs, TimeoutStrategy.Aggressive);
    this.allCalls = bulkhead(o.maxConcurrentCalls, o.maxQueuedCalls);
    this.newTokenCalls = new FairQueue(o.maxConcurrentCalls - o.reservedCallsForKnownTokens, o.maxQueuedCalls);
    const retrier =
      o.retries > 0
        ? retry(
            handleWhen((e) => isRetryable(e, o.retryMaxDelayMs)),
            {
              maxAttempts: o.retries,
              backoff: new RetryAfterAwareBackoff(new ExponentialBackoff({ initialDelay: o.retryInitialDelayMs, maxDelay: o.retryMaxDelayMs })),
            },
          )
        : noop;
    if (o.circuitBreaker) {
      const weights = new WeakMap<Error, number>();
      const otherWeight = 1 / (o.retries + 1);
      this.breaker = circuitBreaker(
        // While half-open, any failure of the test call keeps the breaker open: cockatiel would count an
        // error it does not handle (our own overload, a hold-off) as a success and close it.
        handleWhen((e) => {
          const counted = this.breaker?.state === CircuitState.HalfOpen || countsAgainstBreaker(e);
          if (counted) weights.set(e, failureWeight(e, otherWeight));
          return counted;
        }),
        {
          halfOpenAfter: o.circuitBreaker.halfOpenAfterMs,
          breaker: new WeightedConsecutiveBreaker(o.circuitBreaker.consecutiveFailures, () => {
            const last = this.breaker?.lastFailure;
            return (last && 'error' in last && weights.get(last.error)) || otherWeight;
          }),
        },
      );
      this.breaker.onBreak((cause) => {
        this.openedAt = Date.now();
        this.openedBy = 'error' in cause ? openingReason(cause.error) : 'unexpected_error';
      });
      this.breaker.onStateChange((state) => {
        for (const listener of this.listeners) listener(STATE_NAMES[state]);
      });
    }
    const deadline = timeout(o.deadlineMs, TimeoutStrategy.Aggressive);
    // The breaker sees single attempts (inside the retries): an open breaker fails the lookup at once
    // (BrokenCircuitError is not retried), and the half-open test call is one attempt. It sits outside
    // the bulkheads, so waiting for a free slot is never an attempt.
    this.outer = wrap(deadline, retrier, this.breaker ?? noop);
  }

  /** Current circuit-breaker state. */
  get state(): BreakerState {
    return this.breaker ? STATE_NAMES[this.breaker.state] : 'disabled';
  }

  /** Subscribe to breaker state changes; returns an unsubscribe function. */
  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Seconds until the open breaker lets a probe through (at least 1). */
  secondsUntilHalfOpen(): number {
    const cb = this.options.circuitBreaker;
    if (!cb) return this.options.retryAfterSeconds;
    return Math.max(1, Math.ceil((this.openedAt + cb.halfOpenAfterMs - Date.now()) / 1000));
  }

  /**
   * Runs one authorization-server call under the policies. `fn` must honour `signal`.
   * @param knownToken the token was active at the authorization server before (a re-validation):
   *   it may use the calls reserved for known tokens, which a flood of new tokens cannot take.
   * @param caller who is asking (e.g. the client's address): waiting new-token lookups are served
   *   round-robin between callers, so one caller's flood cannot starve the others.
   */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, knownToken = false, caller = ''): Promise<T> {
    this.holdOff.check();
    const progress: Progress = { atServerMs: 0 };
    const call = ({ signal }: { signal: AbortSignal }) => this.allCalls.execute(({ signal: s }) => this.attempt(fn, s, progress), signal);
    try {
      return await this.outer.execute(knownToken ? call : ({ signal }) => this.newTokenCalls.run(caller, signal, () => call({ signal })));
    } catch (error) {
      throw this.translate(error, progress);
    }
  }

  /**
   * Runs a health probe with its own timeout, without retries or bulkhead. The probe never counts
   * against a closed breaker — neither its timeouts nor its failures. While the breaker is open it
   * fails fast with `circuit_open`; once the half-open delay has passed, the probe is the test call:
   * success closes the breaker (no user traffic needed), failure or timeout keeps it open.
   */
  async probe<T>(fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
    this.holdOff.check();
    // A probe that would be the half-open test call is as patient as a user's attempt: a short probe
    // timeout against an AS that answers users in time must not keep the breaker open for them.
    if (this.breaker && this.breaker.state !== CircuitState.Closed) timeoutMs = Math.max(timeoutMs, this.options.attemptTimeoutMs);
    let limit = this.probeTimeouts.get(timeoutMs);
    if (!limit) this.probeTimeouts.set(timeoutMs, (limit = timeout(timeoutMs, TimeoutStrategy.Aggressive)));
    const run = ({ signal }: { signal: AbortSignal }) =>
      limit
        .execute(({ signal: s }) => fn(s), signal)
        .catch((error: unknown) => {
          if (error instanceof TaskCancelledError && !signal.aborted) {
            throw new ProbeTimeoutError(`The health probe got no answer within ${timeoutMs} ms.`, { cause: error });
          }
          throw error;
        });
    try {
      if (!this.breaker || this.breaker.state === CircuitState.Closed) return await run({ signal: new AbortController().signal });
      return await this.breaker.execute(run);
    } catch (error) {
      if (error instanceof ProbeTimeoutError) {
        throw new AuthorizationServerUnavailableError('timeout', this.options.retryAfterSeconds, error.message, { cause: error });
      }
      throw this.translate(error);
    }
  }

  /** One HTTP attempt under the attempt timeout. Remembers a `Retry-After` the server sent. */
  private async attempt<T>(fn: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, progress: Progress): Promise<T> {
    // A retry, or a lookup that waited for a slot, must not call before the server's retry time either.
    if (this.holdOff.active) throw new HoldOffError();
    const started = Date.now();
    progress.inFlightSince = started;
    try {
      return await this.attemptTimeout.execute(({ signal: s }) => fn(s), signal);
    } catch (error) {
      if (signal.aborted) {
        // The lookup's deadline ended this attempt while the AS had it: if the AS held the lookup for
        // most of its time, that is the AS hanging (counted by the breaker); otherwise our own queueing.
        const atServer = progress.atServerMs + (Date.now() - started);
        if (atServer * 2 >= this.options.deadlineMs) {
          throw silence(
            new AuthorizationServerUnavailableError(
              'timeout',
              this.options.retryAfterSeconds,
              `The authorization server did not answer before the lookup's deadline (${this.options.deadlineMs} ms).`,
              { cause: error },
            ),
          );
        }
        throw new TaskCancelledError('The lookup was cancelled (deadline).');
      }
      if (error instanceof TaskCancelledError) {
        throw (progress.lastFailure = silence(
          new AuthorizationServerUnavailableError(
            'timeout',
            this.options.retryAfterSeconds,
            `The authorization server did not answer within the attempt timeout (${this.options.attemptTimeoutMs} ms).`,
            { cause: error },
          ),
        ));
      }
      if (error instanceof AuthorizationServerUnavailableError) {
        progress.lastFailure = error;
        this.holdOff.note(error);
      }
      throw error;
    } finally {
      progress.atServerMs += Date.now() - started;
      progress.inFlightSince = undefined;
    }
  }

  /** @param progress how long this lookup spent at the authorization server (vs. waiting for a free slot). */
  private translate(error: unknown, progress?: Progress): AuthorizationServerUnavailableError {
    const context = {
      holdOff: this.holdOff,
      breaker: this.breaker,
      circuitOpenedBy: this.openedBy,
      secondsUntilHalfOpen: () => this.secondsUntilHalfOpen(),
    };
    return translateFailure(error, this.options, context, progress);
  }
}
