import {
  BrokenCircuitError,
  BulkheadRejectedError,
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
  type IBackoff,
  type IBreaker,
  type IBackoffFactory,
  type IPolicy,
  type IRetryBackoffContext,
} from 'cockatiel';
import { isStaleConnectionError } from '../client/authorization-server-http.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { FairQueue } from './fair-queue.js';

/** Circuit-breaker state as reported to users and health checks. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated' | 'disabled';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

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
function staleConnection(error: unknown, depth = 0): boolean {
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

/**
 * cockatiel breaker that opens when the summed weights of consecutive failed attempts (no success in
 * between) reach `threshold`. The weight of each failure is read from the error cockatiel records as
 * the breaker's last failure, classified by the breaker's `handleWhen` filter just before.
 */
class WeightedConsecutiveBreaker implements IBreaker {
  /** Summed weight of the failures since the last success. */
  state = 0;
  constructor(
    private readonly threshold: number,
    private readonly weightOfLastFailure: () => number,
  ) {}
  success(): void {
    this.state = 0;
  }
  failure(): boolean {
    this.state += this.weightOfLastFailure();
    // Weights like 1/3 do not add up exactly in floating point.
    return this.state >= this.threshold - 1e-9;
  }
}

/** Time one lookup spent at the authorization server, milliseconds. */
interface Progress {
  atServerMs: number;
  /** Start of the attempt in flight, if any (epoch ms). */
  inFlightSince?: number;
  /** How this lookup's last attempt failed at the AS, if it did. */
  lastFailure?: AuthorizationServerUnavailableError;
}

/** No call was made: the server's `Retry-After` has not passed. Neither retried nor counted by the breaker. */
class HoldOffError extends Error {}

/** A health probe's own (short) timeout: counted only as the failed test call of a half-open breaker. */
class ProbeTimeoutError extends Error {}

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
  /** No call before this time (epoch ms): the authorization server asked us to wait (`Retry-After`). */
  private holdUntil = 0;
  private readonly listeners = new Set<(state: BreakerState) => void>();
  private readonly probeTimeouts = new Map<number, IPolicy>();

  constructor(private readonly options: ResolvedOptions['resilience']) {
    const o = options;
    this.attemptTimeout = timeout(o.attemptTimeoutMs, TimeoutStrategy.Aggressive);
    this.allCalls = bulkhead(o.maxConcurrentCalls, o.maxQueuedCalls);
    this.newTokenCalls = new FairQueue(o.maxConcurrentCalls - o.reservedCallsForKnownTokens, o.maxQueuedCalls);
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
      const weights = new WeakMap<Error, number>();
      const otherWeight = 1 / (o.retries + 1);
      this.breaker = circuitBreaker(
        // While half-open, any failure of the test call keeps the breaker open: cockatiel would count an
        // error it does not handle (our own overload, a hold-off) as a success and close it.
        handleWhen((e) => {
          const counted =
            this.breaker?.state === CircuitState.HalfOpen ||
            e instanceof ProbeTimeoutError ||
            (e instanceof AuthorizationServerUnavailableError && BREAKER_REASONS.has(e.reason));
          if (counted) weights.set(e, SILENCES.has(e) || (transportCode(e.cause) && !staleConnection(e)) ? STRONG_WEIGHT : otherWeight);
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
      this.breaker.onBreak(() => (this.openedAt = Date.now()));
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
    this.checkHoldOff();
    const progress: Progress = { atServerMs: 0 };
    const call = ({ signal }: { signal: AbortSignal }) =>
      this.allCalls.execute(({ signal: s }) => this.attempt(fn, s, progress), signal);
    try {
      return await this.outer.execute(
        knownToken ? call : ({ signal }) => this.newTokenCalls.run(caller, signal, () => call({ signal })),
      );
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
    this.checkHoldOff();
    // A probe that would be the half-open test call is as patient as a user's attempt: a short probe
    // timeout against an AS that answers users in time must not keep the breaker open for them.
    if (this.breaker && this.breaker.state !== CircuitState.Closed) timeoutMs = Math.max(timeoutMs, this.options.attemptTimeoutMs);
    let limit = this.probeTimeouts.get(timeoutMs);
    if (!limit) this.probeTimeouts.set(timeoutMs, (limit = timeout(timeoutMs, TimeoutStrategy.Aggressive)));
    const run = ({ signal }: { signal: AbortSignal }) =>
      limit.execute(({ signal: s }) => fn(s), signal).catch((error: unknown) => {
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
    if (this.holdUntil > Date.now()) throw new HoldOffError();
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
        if (error.retryAfterFromServer) this.holdUntil = Math.max(this.holdUntil, Date.now() + error.retryAfterSeconds * 1000);
      }
      throw error;
    } finally {
      progress.atServerMs += Date.now() - started;
      progress.inFlightSince = undefined;
    }
  }

  /** While the authorization server's `Retry-After` runs, fail fast with the time left — the same for every caller. */
  private checkHoldOff(): void {
    if (this.holdUntil > Date.now()) throw this.holdOffError();
  }

  private holdOffError(): AuthorizationServerUnavailableError {
    return new AuthorizationServerUnavailableError(
      'rate_limited',
      Math.max(1, Math.ceil((this.holdUntil - Date.now()) / 1000)),
      `The authorization server asked us to wait (Retry-After); no call before ${new Date(this.holdUntil).toISOString()}.`,
      { retryAfterFromServer: true },
    );
  }

  private isRetryable(error: Error): boolean {
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

  /** @param progress how long this lookup spent at the authorization server (vs. waiting for a free slot). */
  private translate(error: unknown, progress?: Progress): AuthorizationServerUnavailableError {
    const o = this.options;
    if (error instanceof AuthorizationServerUnavailableError) return error;
    if (error instanceof HoldOffError) return this.holdOffError();
    if (error instanceof BrokenCircuitError) {
      // The breaker opened between two attempts of this lookup: its answer is what its attempts met.
      if (progress?.lastFailure) return progress.lastFailure;
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
}

/** Marks an error as the AS's silence (a strong sign of an outage for the breaker). */
function silence<E extends Error>(error: E): E {
  SILENCES.add(error);
  return error;
}

/** Exponential backoff with jitter, but never shorter than a short `Retry-After` the server asked for. */
class RetryAfterAwareBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const error = 'error' in context.result ? context.result.error : undefined;
    // A stale kept-alive connection says nothing about the AS: try again at once (on a fresh connection),
    // without using up a step of the backoff.
    if (staleConnection(error)) return { duration: 0, next: (c) => this.next(c) };
    const step = this.inner.next(context);
    let asked =
      error instanceof AuthorizationServerUnavailableError && error.retryAfterFromServer ? error.retryAfterSeconds * 1000 : 0;
    // Timers may fire a millisecond early against Date.now(): wait a little past the hold-off, or the retry meets it.
    if (asked > 0) asked += 25;
    return { duration: Math.max(step.duration, asked), next: (c) => new RetryAfterAwareBackoff(step).next(c) };
  }
}
