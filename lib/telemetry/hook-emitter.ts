import type { IntrospectionEvents } from './introspection-events.interface.js';

/**
 * Calls a user hook without waiting for it. A hook that throws, or returns a promise that rejects,
 * is reported to `failed` (the telemetry logs it, rate-limited) and ignored: the request goes on
 * unaffected and no rejection is left unhandled.
 */
export function callHook<K extends keyof IntrospectionEvents>(
  events: IntrospectionEvents,
  name: K,
  event: Parameters<NonNullable<IntrospectionEvents[K]>>[0],
  failed: (name: K, error: unknown) => void,
): void {
  const hook = events[name] as ((e: typeof event) => unknown) | undefined;
  if (!hook) return;
  try {
    const returned = hook.call(events, event);
    if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function') {
      (returned as PromiseLike<unknown>).then(undefined, (error: unknown) => failed(name, error));
    }
  } catch (error) {
    failed(name, error);
  }
}

/** A thrown value as text, whatever it is (even an object without a string form must not break the request). */
export function describeThrown(error: unknown): string {
  try {
    const message = (error as Error)?.message;
    return typeof message === 'string' ? message : String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
