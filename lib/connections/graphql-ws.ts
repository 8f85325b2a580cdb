import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import { socketCertificateThumbprint } from '../guard/client-certificate.js';
import type { RouteChecks } from '../guard/route-checks.js';
import { socketFairnessKey } from '../guard/fairness-key.js';
import { bearerOrRawToken } from '../guard/token-sources.js';
import { ConnectionRefusedError } from './connection-refusal.js';
import { originRefusal } from './connection-handshake.js';
import { connections, type ConnectionHost, type ConnectionState } from './connection-state.js';
import { closeSocket, onSocketClose, type SocketLike } from './sockets.js';

/** The hooks `ConnectionAuthenticator.graphqlWs()` returns, to spread into the driver's graphql-ws options. */
export interface GraphqlWsHooks {
  onConnect: (ctx: { connectionParams?: Readonly<Record<string, unknown>>; extra: unknown }) => Promise<boolean>;
}

/**
 * The graphql-ws hooks of `ConnectionAuthenticator.graphqlWs()` for compiled connection requirements: the token
 * comes from `connectionParams` (`websocket.connectionParam`, `Bearer <token>` or raw), is checked on connect — a
 * refused connection is closed with 4400/4401/4403/1013 — and is watched like any connection. Internal.
 */
export function graphqlWsHooks(host: ConnectionHost, checks: RouteChecks | readonly string[]): GraphqlWsHooks {
  const param = host.options.websocket.connectionParam;
  return {
    onConnect: async (ctx) => {
      const extra = (ctx.extra ?? {}) as { socket?: unknown; request?: { socket?: unknown } };
      const socket = extra.socket as SocketLike | undefined;
      if (!socket) return false;
      const params = ctx.connectionParams ?? {};
      const value = Object.hasOwn(params, param)
        ? params[param]
        : param === 'authorization' && Object.hasOwn(params, 'Authorization')
          ? params.Authorization
          : undefined;
      const state: ConnectionState = { ready: undefined as never };
      connections.set(socket, state);
      const raw = extra.request?.socket;
      const presentation: TokenPresentation = { scheme: 'bearer', certificateThumbprint: socketCertificateThumbprint(raw) };
      const allowedOrigins = host.options.websocket.allowedOrigins;
      const foreign = Array.isArray(allowedOrigins) ? originRefusal(host, extra.request, allowedOrigins) : undefined;
      state.ready = (
        foreign
          ? Promise.reject(foreign)
          : host.authenticateAndWatch(
              bearerOrRawToken(value, 'access token', host.options.maxTokenLength),
              checks,
              presentation,
              socketFairnessKey(raw),
              (code, reason) => closeSocket(socket, code, reason),
              (stop) => onSocketClose(socket, stop),
            )
      ).then(
        (principal) => {
          state.principal = principal;
          return principal;
        },
        (error: unknown) => {
          state.refusal =
            error instanceof ConnectionRefusedError ? error : new ConnectionRefusedError('invalid_token', 401, 'The connection could not be authenticated.');
          return undefined;
        },
      );
      const principal = await state.ready;
      // graphql-ws closes a `false` with 4403 Forbidden; ours says why (the first close wins).
      if (!principal) closeSocket(socket, state.refusal!.closeCode, state.refusal!.message);
      return principal !== undefined;
    },
  };
}
