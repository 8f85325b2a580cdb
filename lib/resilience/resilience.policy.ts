import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
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
  type IBackoff,
  type IBackoffFactory,
  type IPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';

/** Circuit-breaker state as reported to users and health checks. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * Every call to the authorization server goes through here (cockatiel policies, outermost first):
 * overall deadline → circuit breaker (counts failed *lookups*, after retries) → retry (transient
 * failures only, exponential backoff with decorrelated jitter, honouring a short `Retry-After`)
 * → bulkhead (caps concurrent HTTP calls) → per-attempt timeout.
 * Whatever fails comes out as an `AuthorizationServerUnavailableError` with a retry-after hint.
 */
export class ResiliencePolicy {
  private readonly policy: IPolicy;
  private readonly breaker?: CircuitBreakerPolicy;
  private openedAt = 0;
  private readonly listeners = new Set<(state: BreakerState) => void>();
  private readonly probes = new Map<number, IPolicy>();

  constructor(private readonly options: ResolvedOptions['resilience']) {
    const o = options;
    const attemptTimeout = timeout(o.attemptTimeoutMs, TimeoutStrategy.Aggressive);
    const limiter = bulkhead(o.maxConcurrentCalls, o.maxQueuedCalls);
    const retrier =
      o.retries > 0
        ? retry(handleWhen((e) => this.isRetryable(e)), {
            maxAttempts: o.retries,
            backoff: new RetryAfterAwareBackoff(
              new ExponentialBackoff({ initialDelay: o.retryInitialDelayMs, maxDelay: o.retryMaxDelayMs }),
            ),
          })
        : noop;
    if (o.circuitBreaker) {
      this.breaker = circuitBreaker(handleWhen(isAuthorizationServerFailure), {
        halfOpenAfter: o.circuitBreaker.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(o.circuitBreaker.consecutiveFailures),
      });
      this.breaker.onBreak(() => (this.openedAt = Date.now()));
      this.breaker.onStateChange((state) => {
        for (const listener of this.listeners) listener(STATE_NAMES[state]);
      });
    }
    const deadline = timeout(o.deadlineMs, TimeoutStrategy.Aggressive);
    this.policy = wrap(deadline, this.breaker ?? noop, retrier, limiter, attemptTimeout);
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

  /** Runs one authorization-server call under the policies. `fn` must honour `signal`. */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(({ signal }) => fn(signal));
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * Runs a health probe: through the circuit breaker (so a successful probe is the half-open test
   * call that closes it, even when no traffic arrives) with its own timeout, without retries or
   * bulkhead. Fails fast with `circuit_open` while the breaker is open.
   */
  async probe<T>(fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
    let policy = this.probes.get(timeoutMs);
    if (!policy) {
      policy = wrap(this.breaker ?? noop, timeout(timeoutMs, TimeoutStrategy.Aggressive));
      this.probes.set(timeoutMs, policy);
    }
    try {
      return await policy.execute(({ signal }) => fn(signal));
    } catch (error) {
      throw this.translate(error);
    }
  }

  private isRetryable(error: Error): boolean {
    if (error instanceof TaskCancelledError) return true; // an attempt timed out
    if (!(error instanceof AuthorizationServerUnavailableError)) return false;
    switch (error.reason) {
      case 'connection_failed':
      case 'timeout':
      case 'server_error':
      case 'discovery_failed':
      case 'rate_limited':
        // A Retry-After longer than our own largest backoff would eat the request's deadline: give up and pass the hint on.
        return !error.retryAfterFromServer || error.retryAfterSeconds * 1000 <= this.options.retryMaxDelayMs;
      default:
        return false;
    }
  }

  private translate(error: unknown): AuthorizationServerUnavailableError {
    const o = this.options;
    if (error instanceof AuthorizationServerUnavailableError) return error;
    if (error instanceof BrokenCircuitError) {
      return new AuthorizationServerUnavailableError(
        'circuit_open',
        this.secondsUntilHalfOpen(),
        'The circuit breaker is open after repeated failures of the authorization server; failing fast until it is probed again.',
        { cause: this.breaker?.lastFailure && 'error' in this.breaker.lastFailure ? this.breaker.lastFailure.error : error },
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
      return new AuthorizationServerUnavailableError(
        'timeout',
        o.retryAfterSeconds,
        `The authorization server did not answer in time (attempt timeout ${o.attemptTimeoutMs} ms, deadline ${o.deadlineMs} ms).`,
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
}

/** Failures that say something about the authorization server's health (and so feed the breaker). */
function isAuthorizationServerFailure(error: Error): boolean {
  if (error instanceof TaskCancelledError) return true;
  return error instanceof AuthorizationServerUnavailableError && error.reason !== 'overloaded';
}

/** Exponential backoff with jitter, but never shorter than a short `Retry-After` the server asked for. */
class RetryAfterAwareBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const asked =
      error instanceof AuthorizationServerUnavailableError && error.retryAfterFromServer ? error.retryAfterSeconds * 1000 : 0;
    return { duration: Math.max(step.duration, asked), next: (c) => new RetryAfterAwareBackoff(step).next(c) };
  }
}
