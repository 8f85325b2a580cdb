import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { IntrospectOptions } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';

/**
 * Races the shared lookup against this caller's own deadline and abort signal. The shared promise
 * always keeps a handler: it may settle long after this caller gave up.
 */
export function withDeadline<T>(shared: Promise<T>, options: IntrospectOptions, resolved: ResolvedOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const signal = options.signal;
    const fail = () => {
      cleanup();
      reject(callerGaveUp(resolved));
    };
    const timer = options.timeoutMs !== undefined ? setTimeout(fail, options.timeoutMs) : undefined;
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', fail);
    };
    signal?.addEventListener('abort', fail, { once: true });
    shared.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** The error of a caller whose own deadline passed or whose signal aborted (the shared lookup goes on). */
export function callerGaveUp(resolved: ResolvedOptions): AuthorizationServerUnavailableError {
  return new AuthorizationServerUnavailableError(
    'timeout',
    resolved.resilience.retryAfterSeconds,
    'The caller stopped waiting for the authorization server (its deadline passed or it was aborted).',
  );
}
