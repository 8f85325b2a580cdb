/** What is needed of a socket: `ws` (`close(code, reason)`, `readyState`) or socket.io (`disconnect(true)`). */
export type SocketLike = object;

/** Closes a `ws` socket with a code and a reason (at most 123 bytes, RFC 6455 §5.5), or disconnects a socket.io one. */
export function closeSocket(socket: SocketLike, code: number, reason: string): void {
  const s = socket as { close?: (code?: number, reason?: string) => void; disconnect?: (close?: boolean) => void; readyState?: number };
  try {
    if (typeof s.readyState === 'number' && typeof s.close === 'function') {
      if (s.readyState === 2 || s.readyState === 3) return; // closing or closed
      s.close(code, truncate(reason));
    } else if (typeof s.disconnect === 'function') {
      s.disconnect(true);
    } else if (typeof s.close === 'function') {
      s.close(code, truncate(reason));
    }
  } catch {
    (socket as { terminate?: () => void }).terminate?.();
  }
}

/** Calls `listener` once the socket closes (`ws` `close`, socket.io `disconnect`), or now if it is closed. Internal. */
export function onSocketClose(socket: SocketLike, listener: () => void): void {
  const s = socket as { once?: (event: string, listener: () => void) => void; readyState?: number };
  if (s.readyState === 3) return listener();
  s.once?.('close', listener);
  s.once?.('disconnect', listener);
}

function truncate(reason: string): string {
  const bytes = Buffer.from(reason);
  return bytes.length <= 123
    ? reason
    : bytes
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '...';
}
