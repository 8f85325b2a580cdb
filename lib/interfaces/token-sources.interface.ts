/**
 * One place a request may carry its access token. The guard looks at every configured source; a request
 * that uses more than one at once is refused with 400 `invalid_request` (RFC 6750 §2: "Clients MUST NOT use
 * more than one method to transmit the token in each request").
 */
export type TokenSource =
  /** `Authorization: Bearer <token>` (RFC 6750 §2.1; `DPoP <token>` too unless `dpop: false`). The default. */
  | { readonly in: 'header'; readonly name?: undefined }
  /**
   * A custom header holding the raw token, without a scheme (`X-Api-Token: <token>`). Same syntax rules as a
   * bearer token (RFC 6750 b64token characters, `maxTokenLength`); a value with a scheme or anything else is 400.
   */
  | { readonly in: 'header'; readonly name: string }
  /**
   * A cookie holding the raw token (not URL-encoded; one pair of surrounding double quotes is allowed). The
   * Cookie header is parsed here (no cookie-parser needed); a cookie sent twice under one name is 400.
   * Cookies are sent by browsers on their own: protect state-changing routes against CSRF (SameSite cookies).
   */
  | { readonly in: 'cookie'; readonly name: string }
  /**
   * The query string (`?access_token=…`, RFC 6750 §2.3). NOT RECOMMENDED: URLs end up in access logs, proxies,
   * browser history and `Referer` headers (OAuth 2.0 Security BCP, RFC 9700 §4.3.2). Refused at start-up
   * unless `dangerouslyAllowTokenInUrl: true`; logs a warning at start-up when allowed. `name` defaults to
   * `'access_token'`. Percent-encode the token (`+` in a query string means a space).
   */
  | { readonly in: 'query'; readonly name?: string; readonly dangerouslyAllowTokenInUrl: true };

/**
 * Where a WebSocket handshake carries its token: the sources of HTTP requests, read from the upgrade request,
 * or a function of the upgrade request (`IncomingMessage`) returning the raw token or undefined (for a
 * subprotocol or anything else; what it returns gets the same syntax checks).
 */
export type WebSocketTokenSource = TokenSource | ((request: any) => unknown);

/** Authentication of WebSocket connections (`authenticateWebSockets()`) and GraphQL subscriptions over graphql-ws. */
export interface WebSocketAuthenticationOptions {
  /**
   * Where the handshake carries the token, in order. Browsers cannot set headers on a WebSocket: use a cookie,
   * or the query string (with its flag and its risks). Default `[{ in: 'header' }]` (the Authorization header).
   */
  tokenSources?: WebSocketTokenSource[];
  /**
   * graphql-ws: the `connectionParams` key that holds the token, as `Bearer <token>` or the raw token.
   * Default `'authorization'` (`Authorization` is accepted too).
   */
  connectionParam?: string;
  /**
   * An open connection's token is checked again this often (through the cache: a revocation the cache does not
   * know yet is seen within `cache.ttlSeconds` + this), at its `exp`, and at once when it is evicted
   * (`evict()`, `evictBySubject()`, the webhook). A token found inactive closes the connection (4401).
   * Default 60 s.
   */
  recheckIntervalSeconds?: number;
  /**
   * Messages a client may send while its token is being checked: kept and handled once it is accepted. More
   * close the connection (1008). Default 16.
   */
  maxPendingMessages?: number;
  /**
   * Bytes a client may send while its token is being checked (all held messages together): more close the
   * connection (1009) before the authorization server has answered. Default 65 536 (64 KiB). Also give your WebSocket
   * server a small `maxPayload` (ws' default is 100 MiB per message).
   */
  maxPendingBytes?: number;
  /**
   * Origins (`'https://app.example.com'`: scheme, host, optional port) whose pages may open WebSocket connections.
   * A handshake whose `Origin` header is not listed — including `Origin: null` — is closed with 4403 before any token
   * is looked up: a cookie the browser adds on its own would otherwise let any web page act as the user
   * (cross-site WebSocket hijacking; browsers apply no same-origin policy to WebSockets). A handshake without an
   * `Origin` header is accepted: browsers always send one, so it comes from a non-browser client, which holds its
   * token itself. Default: when `tokenSources` includes a cookie, the `Origin` must name the handshake's own `Host`
   * (same origin; a start-up warning asks to list your origins); otherwise no check. Also applied to graphql-ws
   * connections (`graphqlWs()`) when set.
   */
  allowedOrigins?: string[];
}

/** What a microservice message handler receives, for the token extractor. */
export interface MicroserviceMessage {
  /** The message payload (`@Payload()`). */
  readonly data: unknown;
  /** The transport's context (`@Ctx()`): `TcpContext`, `NatsContext`, gRPC `Metadata`, ... */
  readonly context: unknown;
}

/**
 * Where microservice messages carry their token:
 * - `{ in: 'payload', field }`: a string property of the payload (`{ accessToken, ... }`);
 * - `{ in: 'metadata', name }`: transport metadata — gRPC `Metadata.get(name)`, or the headers of transports that have
 *   them (`context.getHeaders()`: NATS, Redis-less brokers; `context.getMessage().headers`: Kafka);
 * - a function of the message returning the raw token (or `Bearer <token>`), or undefined when there is none.
 */
export type MicroserviceTokenSource =
  { readonly in: 'payload'; readonly field: string } | { readonly in: 'metadata'; readonly name: string } | ((message: MicroserviceMessage) => unknown);

/** Authentication of microservice message handlers (`rpc` context). */
export interface MicroserviceAuthenticationOptions {
  /** Where messages carry their token. Required: without this option, handlers that are not `@Public()` are refused. */
  token: MicroserviceTokenSource;
}
