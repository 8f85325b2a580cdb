import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';

/** First hold after a configuration failure, then doubled up to {@link MAX_HOLD_MS} while it lasts. */
export const FIRST_HOLD_MS = 2000;
export const MAX_HOLD_MS = 30_000;

/**
 * Holds a deterministic configuration failure (no discovery document, issuer mismatch, no
 * `introspection_endpoint`, client credentials refused, not an introspection endpoint), so that it is
 * retried at a slow, bounded pace — one trial call after 2 s, 4 s, … at most every 30 s — instead of once per
 * request: the AS is not hammered, every caller in between gets the same cause at once (503 with the time to
 * the next trial), and readiness says what is wrong for as long as it lasts. Configuration failures never feed
 * the circuit breaker (see `BREAKER_REASONS`): the breaker stays about the AS's health.
 */
export class ConfigurationGate {
  private held?: { error: AuthorizationServerUnavailableError; retryAt: number; holdMs: number };
  private trialInFlight = false;
  private readonly listeners: Array<(failure: AuthorizationServerUnavailableError | undefined) => void> = [];

  /** The configuration failure in force, if any. */
  get current(): AuthorizationServerUnavailableError | undefined {
    return this.held?.error;
  }

  /** Called when a configuration failure starts (or changes) and when it ends (`undefined`). */
  onChange(listener: (failure: AuthorizationServerUnavailableError | undefined) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Lets a call through, or throws the held failure (with the seconds to the next trial). After the hold, one
   * call at a time is the trial: `true` is returned to it, and it must end with `passed`, `failed` or `inconclusive`.
   */
  enter(now = Date.now()): boolean {
    const held = this.held;
    if (!held) return false;
    if (now < held.retryAt || this.trialInFlight) throw this.refusal(held, now);
    this.trialInFlight = true;
    return true;
  }

  /**
   * For callers that are not the trial (the key fetch of JWT validation, push receivers): throws the held failure
   * while it holds, when it is of `reason`; claims no trial (after the hold, their call goes ahead).
   */
  refuseWhileHeld(reason: AuthorizationServerUnavailableError['reason'], now = Date.now()): void {
    const held = this.held;
    if (held && held.error.reason === reason && now < held.retryAt) throw this.refusal(held, now);
  }

  /** A call got an answer (any answer about a token): the configuration works. */
  passed(): void {
    this.trialInFlight = false;
    if (!this.held) return;
    this.held = undefined;
    for (const listener of this.listeners) listener(undefined);
  }

  /** A call ended with a configuration failure: hold it, twice as long as the last time (bounded). */
  failed(error: AuthorizationServerUnavailableError, now = Date.now()): void {
    this.trialInFlight = false;
    const holdMs = this.held ? Math.min(MAX_HOLD_MS, this.held.holdMs * 2) : FIRST_HOLD_MS;
    const changed = this.held?.error.message !== error.message;
    this.held = { error, retryAt: now + holdMs, holdMs };
    if (changed) for (const listener of this.listeners) listener(error);
  }

  /** A trial ended without a verdict on the configuration (the AS is down or slow): the next call tries again. */
  inconclusive(): void {
    this.trialInFlight = false;
  }

  private refusal(held: NonNullable<ConfigurationGate['held']>, now: number): AuthorizationServerUnavailableError {
    const seconds = Math.max(1, Math.ceil((held.retryAt - now) / 1000));
    const { error } = held;
    return new AuthorizationServerUnavailableError(error.reason, seconds, `${error.message} (A configuration error: checked again in ${seconds} s.)`, {
      cause: error,
      status: error.status,
    });
  }
}
