import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import { socketCertificateThumbprint } from '../guard/client-certificate.js';
import type { RouteChecks } from '../guard/route-checks.js';
import { socketFairnessKey } from '../guard/fairness-key.js';
import type { TokenExtractor } from '../guard/token-sources.js';
import { ConnectionRefusedError } from './connection-refusal.js';
import { connections, type ConnectionHost, type ConnectionPrincipal, type ConnectionState } from './connection-state.js';
import { closeSocket, onSocketClose, type SocketLike } from './sockets.js';

/**
 * Whether a WebSocket upgrade request may open a connection per `allowed` (`websocket.allowedOrigins`): its `Origin`
 * is listed, or names its own `Host` (`'same-origin'`), or it has no `Origin` (not a browser). Everything is allowed
 * when `allowed` is undefined. Internal: see `ConnectionAuthenticator.originAllowed`.
 */
export function originAllowed(request: unknown, allowed: readonly string[] | 'same-origin' | undefined): boolean {
  if (allowed === undefined) return true;
  const headers = (request as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
  const origin = headers.origin;
  if (origin === undefined) return true;
  if (typeof origin !== 'string') return false;
  if (allowed !== 'same-origin') return allowed.includes(origin.toLowerCase());
  try {
    // `Origin: null` (sandboxed frames, file: pages) does not parse: refused.
    return typeof headers.host === 'string' && new URL(origin).host === new URL(`http://${headers.host}`).host;
  } catch {
    return false;
  }
}

/** A refusal when a handshake's `Origin` is not allowed. Internal. */
export function originRefusal(
  host: ConnectionHost,
  request: unknown,
  allowed: readonly string[] | 'same-origin' | undefined,
): ConnectionRefusedError | undefined {
  return host.originAllowed(request, allowed)
    ? undefined
    : new ConnectionRefusedError('origin_not_allowed', 403, 'Connections from this origin are not allowed.');
}

/**
 * Authenticates a WebSocket upgrade request with the handshake's token sources and records the socket for
 * `TokenGuard` (see `ConnectionAuthenticator.handshake`): resolves to the principal, or closes the socket
 * (4400/4401/4403/1013 with the reason) and resolves to undefined. Never rejects. Internal.
 */
export function authenticateHandshake(
  host: ConnectionHost,
  sources: TokenExtractor,
  socket: SocketLike,
  request: unknown,
  checks: RouteChecks | undefined,
): Promise<ConnectionPrincipal | undefined> {
  const state: ConnectionState = { ready: undefined as never };
  connections.set(socket, state);
  state.ready = (async () => {
    try {
      // Before any token lookup: a foreign page must not make the authorization server work for it either.
      const foreign = originRefusal(host, request, host.options.websocket.allowedOrigins);
      if (foreign) throw foreign;
      const extraction = request ? sources(request) : ({ kind: 'missing' } as const);
      const raw = (request as { socket?: unknown } | undefined)?.socket;
      const presentation: TokenPresentation = { scheme: 'bearer', certificateThumbprint: socketCertificateThumbprint(raw) };
      const principal = await host.authenticateAndWatch(
        extraction,
        checks ?? [],
        presentation,
        socketFairnessKey(raw),
        (code, reason) => closeSocket(socket, code, reason),
        (stop) => onSocketClose(socket, stop),
      );
      state.principal = principal;
      return principal;
    } catch (error) {
      state.refusal =
        error instanceof ConnectionRefusedError ? error : new ConnectionRefusedError('invalid_token', 401, 'The connection could not be authenticated.');
      if (!(error instanceof ConnectionRefusedError))
        host.log.warn('handshake', `A WebSocket handshake could not be authenticated: ${(error as Error)?.message ?? String(error)}`);
      closeSocket(socket, state.refusal.closeCode, state.refusal.message);
      return undefined;
    }
  })();
  return state.ready;
}
