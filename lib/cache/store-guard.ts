import { Logger } from '@nestjs/common';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  TimeoutStrategy,
  circuitBreaker,
  handleAll,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
} from 'cockatiel';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';

/**
 * Protects requests from a shared cache store (e.g. Redis) that throws, hangs or is gone: every
 * operation has a timeout, and after a few failures in a row the store is skipped for a while
 * (a cockatiel circuit breaker), then tried again. A failed read is a miss; a failed write is dropped.
 */
export class StoreGuard {
  private readonly policy: IPolicy;
  private readonly breaker: CircuitBreakerPolicy;
  /** Work nobody waits for (`background`): a longer timeout, outside the breaker (a burst of them must not open it).*/
  private readonly backgroundPolicy: IPolicy;
  private readonly long = new Map<number, IPolicy>();
  private readonly log = new RateLimitedLogger(new Logger('IntrospectionCache'));
  /** Set on application shutdown: the store is not touched again (a store client may reconnect on demand). */
  private closed = false;

  constructor(timeoutMs: number, skipForMs = 2000, failuresToSkip = 3) {
    const breaker = circuitBreaker(handleAll, { halfOpenAfter: skipForMs, breaker: new ConsecutiveBreaker(failuresToSkip) });
    breaker.onBreak(() => this.log.warn('store-open', `Cache store failing: skipping it for ${skipForMs} ms (asking the authorization server instead).`));
    breaker.onReset(() => new Logger('IntrospectionCache').log('Cache store answers again: using it.'));
    this.breaker = breaker;
    this.policy = wrap(breaker, timeout(timeoutMs, TimeoutStrategy.Aggressive));
    this.backgroundPolicy = timeout(Math.max(1000, 5 * timeoutMs), TimeoutStrategy.Aggressive);
  }

  /** From now on no operation reaches the store: reads miss, writes are dropped, evictions reject. */
  close(): void {
    this.closed = true;
  }

  /** Runs a store operation; resolves `undefined` instead of failing. */
  async soft<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.closed) return undefined;
    // While one call probes a store that was failing (half-open), the others miss at once rather than queue behind it:
    // cockatiel re-runs queued calls without their abort signal, so a burst would stack listeners on one shared signal
    // (MaxListenersExceededWarning) and wait for the probe, when asking the authorization server is what they should do.
    if (this.breaker.state === CircuitState.HalfOpen) return undefined;
    try {
      return await this.policy.execute(fn, signal());
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) this.failed(op, error);
      return undefined;
    }
  }

  /**
   * Runs a store operation that must not fail silently (evictions): rejects with the cause. Outside the breaker, bounded
   * like `background` (5 × the store timeout, at least 1 s): the breaker keeps requests off a failing store, but an
   * eviction asked for once the store answers again must reach it, not be refused by a breaker still open from the
   * outage. `timeoutMs` overrides the bound for operations that touch many keys (a purge).
   */
  async strict<T>(op: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
    if (this.closed) throw new Error(`The cache store could not ${op}: the cache is closed (application shutdown).`);
    let policy = this.backgroundPolicy;
    if (timeoutMs !== undefined) {
      policy = this.long.get(timeoutMs) ?? timeout(timeoutMs, TimeoutStrategy.Aggressive);
      this.long.set(timeoutMs, policy);
    }
    try {
      return await policy.execute(fn, signal());
    } catch (error) {
      throw new Error(`The cache store could not ${op}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  /**
   * Runs store work nobody waits for (a lookup's shared entry, its tombstone check, the undo of a write an eviction voided): bounded by
   * 5 × the store timeout (at least 1 s) rather than the read timeout, and outside the breaker (a burst of writes
   * must neither open it nor be dropped by it). Rejects with the cause.
   */
  async background<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error(`The cache store could not ${op}: the cache is closed (application shutdown).`);
    try {
      return await this.backgroundPolicy.execute(fn, signal());
    } catch (error) {
      throw new Error(`The cache store could not ${op}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
  }

  private failed(op: string, error: unknown): void {
    this.log.warn(`store-${op}`, `Cache store ${op} failed (${(error as Error)?.message ?? String(error)}); asking the authorization server instead.`);
  }
}

/** A signal per call: cockatiel's default signal is one shared object, and a burst of calls would stack abort listeners on it (MaxListenersExceededWarning). */
function signal(): AbortSignal {
  return new AbortController().signal;
}
