import type { MicroserviceAuthenticationOptions, WebSocketAuthenticationOptions } from '../interfaces/token-sources.interface.js';

/** The connections capability's slice of `IntrospectionModuleOptions` (WebSocket, graphql-ws, microservices). */
export interface ConnectionsModuleOptions {
  /**
   * WebSocket connections (`authenticateWebSockets()`) and GraphQL subscriptions over graphql-ws
   * (`ConnectionAuthenticator.graphqlWs()`): where the handshake carries the token, how often an open
   * connection is checked again. Defaults: see `WebSocketAuthenticationOptions`.
   */
  websocket?: WebSocketAuthenticationOptions;
  /**
   * Microservice message handlers (`rpc` context): where messages carry their token. Default: none —
   * handlers that are not `@Public()` are refused.
   */
  microservice?: MicroserviceAuthenticationOptions;
}
