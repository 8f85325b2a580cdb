import type { IntrospectionResilienceOptions } from './core-options.interface.js';
import type { NumberReader } from './option-readers.js';
import type { ResolvedOptions } from './resolved-options.js';

/** Timeouts, retries, circuit breaker and bulkhead (`resilience`), validated at start-up with their defaults. */
export function resolveResilienceOptions(r: IntrospectionResilienceOptions, problems: string[], num: NumberReader): ResolvedOptions['resilience'] {
  const attemptTimeoutMs = num('resilience.attemptTimeoutMs', r.attemptTimeoutMs, 2000, { min: 1, max: 120_000, unit: 'milliseconds' });
  const deadlineMs = num('resilience.deadlineMs', r.deadlineMs, Math.max(5000, attemptTimeoutMs), { min: 1, max: 300_000, unit: 'milliseconds' });
  if (deadlineMs < attemptTimeoutMs) {
    problems.push(
      `\`resilience.deadlineMs\` (${deadlineMs} ms) is shorter than \`resilience.attemptTimeoutMs\` (${attemptTimeoutMs} ms): ` +
        'the overall deadline must leave room for at least one attempt. Raise deadlineMs or lower attemptTimeoutMs.',
    );
  }
  const retries = num('resilience.retries', r.retries, 2, { min: 0, max: 10, unit: 'retries', integer: true });
  const retryInitialDelayMs = num('resilience.retryInitialDelayMs', r.retryInitialDelayMs, 50, { min: 0, max: 60_000, unit: 'milliseconds' });
  const retryMaxDelayMs = num('resilience.retryMaxDelayMs', r.retryMaxDelayMs, Math.max(1000, retryInitialDelayMs), {
    min: 0,
    max: 300_000,
    unit: 'milliseconds',
  });
  if (retryMaxDelayMs < retryInitialDelayMs) {
    problems.push('`resilience.retryMaxDelayMs` is smaller than `resilience.retryInitialDelayMs`: make it at least as large.');
  }
  let circuitBreaker: ResolvedOptions['resilience']['circuitBreaker'] = false;
  if (r.circuitBreaker !== false) {
    const cb = r.circuitBreaker ?? {};
    circuitBreaker = {
      consecutiveFailures: num('resilience.circuitBreaker.consecutiveFailures', cb.consecutiveFailures, 5, {
        min: 1,
        max: 1000,
        unit: 'lookup-equivalents',
        integer: true,
      }),
      halfOpenAfterMs: num('resilience.circuitBreaker.halfOpenAfterMs', cb.halfOpenAfterMs, 5000, { min: 1, max: 3_600_000, unit: 'milliseconds' }),
    };
  }
  const maxConcurrentCalls = num('resilience.maxConcurrentCalls', r.maxConcurrentCalls, 32, { min: 1, max: 10_000, unit: 'calls', integer: true });
  const maxQueuedCalls = num('resilience.maxQueuedCalls', r.maxQueuedCalls, 1000, { min: 0, max: 1_000_000, unit: 'calls', integer: true });
  const retryAfterSeconds = num('resilience.retryAfterSeconds', r.retryAfterSeconds, 5, { min: 1, max: 86_400, unit: 'seconds', integer: true });
  const reservedCallsForKnownTokens = num('resilience.reservedCallsForKnownTokens', r.reservedCallsForKnownTokens, Math.floor(maxConcurrentCalls / 4), {
    min: 0,
    max: Math.max(0, maxConcurrentCalls - 1),
    unit: 'calls (fewer than maxConcurrentCalls)',
    integer: true,
  });
  const maxRetryAfterSeconds = num('resilience.maxRetryAfterSeconds', r.maxRetryAfterSeconds, 300, { min: 1, max: 86_400, unit: 'seconds', integer: true });
  return {
    attemptTimeoutMs,
    deadlineMs,
    retries,
    retryInitialDelayMs,
    retryMaxDelayMs,
    circuitBreaker,
    maxConcurrentCalls,
    maxQueuedCalls,
    retryAfterSeconds,
    reservedCallsForKnownTokens,
    maxRetryAfterSeconds,
  };
}
