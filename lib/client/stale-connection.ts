/** Transport errors of a connection that dropped before any response. */
const DROPPED_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/**
 * True when the error is a kept-alive connection, reused from the agent's pool, that dropped before
 * any response (`ECONNRESET`/`EPIPE`, "socket hang up"): the server or a middlebox had closed the idle
 * connection — a stale connection, not a sign that the server is down (Node.js's `request.reusedSocket`).
 */
export function isStaleConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; response?: unknown; request?: { reusedSocket?: unknown } } | undefined;
  return !!e && typeof e.code === 'string' && DROPPED_CODES.has(e.code) && !e.response && e.request?.reusedSocket === true;
}
