/**
 * Long-lived connections: `authenticateWebSockets(adapter, app)` authenticates every WebSocket handshake of a Nest
 * WebSocket adapter; `ConnectionAuthenticator` does the same for graphql-ws (`graphqlWs()`) and custom transports
 * (`authenticate`, `handshake`, `watch`), and closes connections whose token is revoked, evicted or expired.
 * `ConnectionRefusedError` carries `{ status, error, message }` and the close code (`CLOSE_CODES`).
 * The public names of the connections capability; the root entry point re-exports them.
 */
export { authenticateWebSockets } from './ws-authentication.js';
export type { WebSocketAuthenticationAdapterOptions } from './ws-authentication.js';
export { CLOSE_CODES, ConnectionAuthenticator, ConnectionRefusedError } from './connection.authenticator.js';
export type { ConnectionPrincipal, ConnectionRequirements } from './connection.authenticator.js';
export type { ConnectionsModuleOptions } from './connections-options.interface.js';
