import type { IBackoff, IBackoffFactory, IRetryBackoffContext } from 'cockatiel';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import { staleConnection } from './failure-classification.js';

/**
 * The authorization server's `Retry-After`: no call before the time it asked for (epoch ms), and the
 * same fail-fast answer for every caller until then.
 */
export class RetryAfterHoldOff {
  /** No call before this time (epoch ms): the authorization server asked us to wait (`Retry-After`). */
  private holdUntil = 0;

  /** True while the server's `Retry-After` runs. */
  get active(): boolean {
    return this.holdUntil > Date.now();
  }

  /** Remembers the `Retry-After` of a failed call, if the server sent one. */
  note(error: AuthorizationServerUnavailableError): void {
    if (error.retryAfterFromServer) this.holdUntil = Math.max(this.holdUntil, Date.now() + error.retryAfterSeconds * 1000);
  }

  /** While the authorization server's `Retry-After` runs, fail fast with the time left — the same for every caller. */
  check(): void {
    if (this.active) throw this.error();
  }

  /** The answer for a call held off: `rate_limited`, with the time left. */
  error(): AuthorizationServerUnavailableError {
    return new AuthorizationServerUnavailableError(
      'rate_limited',
      Math.max(1, Math.ceil((this.holdUntil - Date.now()) / 1000)),
      `The authorization server asked us to wait (Retry-After); no call before ${new Date(this.holdUntil).toISOString()}.`,
      { retryAfterFromServer: true },
    );
  }
}

/** Exponential backoff with jitter, but never shorter than a short `Retry-After` the server asked for. */
export class RetryAfterAwareBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const error = 'error' in context.result ? context.result.error : undefined;
    // A stale kept-alive connection says nothing about the AS: try again at once (on a fresh connection),
    // without using up a step of the backoff.
    if (staleConnection(error)) return { duration: 0, next: (c) => this.next(c) };
    const step = this.inner.next(context);
    let asked = error instanceof AuthorizationServerUnavailableError && error.retryAfterFromServer ? error.retryAfterSeconds * 1000 : 0;
    // Timers may fire a millisecond early against Date.now(): wait a little past the hold-off, or the retry meets it.
    if (asked > 0) asked += 25;
    return { duration: Math.max(step.duration, asked), next: (c) => new RetryAfterAwareBackoff(step).next(c) };
  }
}
