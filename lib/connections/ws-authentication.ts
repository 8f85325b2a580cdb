import type { INestApplicationContext, WebSocketAdapter } from '@nestjs/common';
import { CLOSE_CODES, ConnectionAuthenticator, closeSocket, connections, type ConnectionRequirements, type SocketLike } from './connection.authenticator.js';
import type { RouteChecks } from '../guard/route-checks.js';

/**
 * Options of `authenticateWebSockets()`: what every connection needs at the handshake (and at each re-check).
 * Message handlers add their own decorators on top, checked per message.
 * - `requiredScopes`: scopes every connection needs. Default none.
 * - `requirementsOf`: a class, typically the gateway, whose class-level `@Scopes()`, `@AnyScope()`, `@Roles()`,
 *   `@AnyRole()`, `@RequireClaims()`, `@AnyClaim()`, `@RequireAuthentication()` and `@ProtectedResource()` apply at
 *   the handshake too (refused: 4401 for another resource or step-up, 4403 for scopes, roles, claims). Default none.
 */
export interface WebSocketAuthenticationAdapterOptions extends ConnectionRequirements {
  /** Scopes every connection needs at the handshake (message handlers add theirs with `@Scopes()`). Default none. */
  requiredScopes?: string[];
}

/**
 * Authenticates every WebSocket connection of a Nest WebSocket adapter at the handshake, before the gateway sees
 * it: `app.useWebSocketAdapter(authenticateWebSockets(new WsAdapter(app), app))` (`@nestjs/platform-ws`; the
 * socket.io `IoAdapter` works the same way). The token comes from the upgrade request per
 * `websocket.tokenSources`. A refused connection is closed with 4400 (malformed), 4401 (missing, invalid),
 * 4403 (scope, role, claim) or 1013 (authorization server unavailable) and a reason; `handleConnection` never runs for it.
 * An accepted one is watched (re-checked, closed with 4401 when its token is revoked, evicted or expires), and
 * `TokenGuard` applies the handlers' decorators (`@Scopes()`, `@Roles()`, `@RequireClaims()`, `@RequireAuthentication()`,
 * `@Public()`, …) to each message as over HTTP; `@Introspected()` works.
 * Messages sent before the token is checked are held (`websocket.maxPendingMessages`, `websocket.maxPendingBytes`) and
 * handled after. With a cookie among `websocket.tokenSources`, handshakes from other origins are refused (4403,
 * `websocket.allowedOrigins`).
 *
 * Returns the same adapter (its `bindClientConnect` wrapped): this library never loads a WebSocket package itself.
 */
export function authenticateWebSockets<T extends WebSocketAdapter>(
  adapter: T,
  app: INestApplicationContext,
  options: WebSocketAuthenticationAdapterOptions = {},
): T {
  const bind = adapter.bindClientConnect.bind(adapter);
  const requirements: ConnectionRequirements = { requiredScopes: [...(options.requiredScopes ?? [])], requirementsOf: options.requirementsOf };
  let authenticator: ConnectionAuthenticator | undefined;
  let checks: RouteChecks | undefined;
  let maxPending: number;
  let maxPendingBytes: number;
  try {
    // Read the requirements now, so that bad decorator arguments fail at start-up (the module may not be ready yet).
    authenticator = app.get<ConnectionAuthenticator>(ConnectionAuthenticator, { strict: false });
  } catch {
    authenticator = undefined;
  }
  if (authenticator) checks = authenticator.compileRequirements(requirements);
  const authenticatorOf = (): ConnectionAuthenticator => {
    if (!authenticator) {
      authenticator = app.get<ConnectionAuthenticator>(ConnectionAuthenticator, { strict: false });
      checks = authenticator.compileRequirements(requirements);
    }
    return authenticator;
  };
  // Refuse foreign origins before the upgrade (HTTP 403): `verifyClient` of `ws` servers, `allowRequest` of socket.io.
  // The handshake checks the origin again (4403) for servers created otherwise.
  const create = adapter.create.bind(adapter);
  // The adapter's own server objects (ws, socket.io) and their callbacks are untyped here: any adapter fits.
  /* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-function-type */
  adapter.create = (port: number, options?: Record<string, unknown>) => {
    const auth = authenticatorOf();
    if (!auth.originPolicy) return create(port, options);
    const userVerify = options?.verifyClient as ((info: unknown, done?: Function) => unknown) | undefined;
    const userAllow = options?.allowRequest as ((request: unknown, done: Function) => void) | undefined;
    return create(port, {
      ...options,
      verifyClient: (info: { req: unknown }, done: (result: boolean, code?: number, message?: string) => void) => {
        if (!auth.originAllowed(info.req)) return done(false, 403, 'Origin not allowed');
        if (!userVerify) return done(true);
        if (userVerify.length >= 2) return void userVerify(info, done);
        done(Boolean(userVerify(info)));
      },
      allowRequest: (request: unknown, done: (error: string | null, success: boolean) => void) => {
        if (!auth.originAllowed(request)) return done('Origin not allowed', false);
        if (userAllow) return userAllow(request, done);
        done(null, true);
      },
    });
  };
  adapter.bindClientConnect = (server: unknown, callback: (...args: unknown[]) => void) =>
    bind(server, (client: SocketLike, ...rest: unknown[]) => {
      const auth = authenticatorOf();
      maxPending = auth.maxPendingMessages;
      maxPendingBytes = auth.maxPendingBytes;
      const socket = client as { on?: Function; off?: Function; request?: unknown };
      /* eslint-enable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-function-type */
      const request = rest[0] ?? socket.request;
      // Several gateways on one server each bind a connection listener: one handshake per socket.
      const known = connections.get(client);
      const ready = known ? known.ready : auth.handshake(client, request, checks ?? []);
      const held: unknown[][] = [];
      let heldBytes = 0;
      let refused = false;
      const hold = (...args: unknown[]) => {
        if (refused) return;
        heldBytes += byteSize(args[0]);
        if (heldBytes > maxPendingBytes) refuse(CLOSE_CODES.message_too_big, 'Too much data before the access token was checked.');
        else if (held.length >= maxPending) refuse(CLOSE_CODES.policy_violation, 'Too many messages before the access token was checked.');
        else held.push(args);
      };
      const refuse = (code: number, reason: string) => {
        refused = true;
        held.length = 0; // free what was held at once
        closeSocket(client, code, reason);
        // Do not read what else it sends while waiting for its close frame (ws waits up to 30 s): cut the connection
        // once our close frame has been handed to the network (`ws` sockets; others just close).
        const s = client as { readyState?: number; terminate?: () => void; _socket?: { write?: (data: Buffer, done: () => void) => boolean } };
        const cut = () => {
          if (s.readyState !== 3) s.terminate?.();
        };
        if (typeof s._socket?.write === 'function' && typeof s.terminate === 'function') {
          try {
            s._socket.write(Buffer.alloc(0), cut);
          } catch {
            cut();
          }
        }
      };
      socket.on?.call(client, 'message', hold);
      void ready
        .then((principal) => {
          socket.off?.call(client, 'message', hold);
          if (!principal || (client as { readyState?: number }).readyState === 2 || (client as { readyState?: number }).readyState === 3) return;
          callback(client, ...rest);
          const emitter = client as { emit?: (event: string, ...args: unknown[]) => boolean };
          for (const args of held) emitter.emit?.('message', ...args);
        })
        .catch((error: unknown) => {
          // The gateway's own connection handling failed: never an unhandled rejection.
          app.get(ConnectionAuthenticator, { strict: false }).reportError(error);
          closeSocket(client, 1011, 'Internal error.');
        });
    });
  return adapter;
}

/** The size of a message as a `ws` socket emits it (Buffer, ArrayBuffer, Buffer[] fragments) or a string. */
function byteSize(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (Array.isArray(data)) return data.reduce((sum: number, part: unknown) => sum + byteSize(part), 0);
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
