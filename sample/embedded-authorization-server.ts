import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { Provider } from './oidc-provider.js';

/**
 * A real OAuth 2.0 authorization server for the sample, the demo and the tests: `oidc-provider`
 * (a certified OpenID Provider) on 127.0.0.1 with demo clients. Not for production: in-memory
 * storage and fixed demo secrets.
 */

/** Clients registered at the embedded authorization server. */
export const CLIENTS = {
  /** The API itself, authenticating to the introspection endpoint with HTTP Basic. */
  basic: { clientId: 'api-basic', clientSecret: 'basic-secret-Xy9' },
  /** The API, authenticating with client_secret_post. */
  post: { clientId: 'api-post', clientSecret: 'post-secret-Qw7' },
  /** The API, authenticating with private_key_jwt (ES256). */
  jwt: { clientId: 'api-jwt' },
  /** The API, introspecting with an access token of its own (`client_credentials_bearer`). */
  bearer: { clientId: 'api-bearer', clientSecret: 'bearer-secret-Kp3' },
  /** The API, receiving signed introspection responses (RFC 9701: `introspection_signed_response_alg` RS256). */
  signed: { clientId: 'api-signed', clientSecret: 'signed-secret-Jw5' },
  /** A client application that obtains access tokens with the client-credentials grant. */
  app: { clientId: 'app', clientSecret: 'app-secret-Zz1' },
  /** A client application whose access tokens are bound to its TLS client certificate (RFC 8705 §3). */
  appMtls: { clientId: 'app-mtls', clientSecret: 'app-mtls-secret-Vb4' },
  /**
   * A web application with user sessions (authorization code): its tokens carry `sid`, and with
   * `backchannelLogoutUri` set, oidc-provider sends it back-channel logout tokens when a session ends.
   */
  web: { clientId: 'web', clientSecret: 'web-secret-Rt6' },
} as const;

export const SCOPES = ['read', 'write', 'admin'];

/** Resource indicators (RFC 8707) starting with this get JWT access tokens (RFC 9068); any other resource, opaque ones. */
export const JWT_RESOURCE_PREFIX = 'urn:jwt:';

export interface TokenRequest {
  scope?: string;
  /** RFC 8707 resource indicator: becomes the token's `aud`. */
  resource?: string;
  /** Lifetime of this token, seconds (default: the server's `tokenTtlSeconds`). */
  ttlSeconds?: number;
  /** Ask for a DPoP-bound token (RFC 9449): a proof signed with this key pair goes with the request. */
  dpop?: { privateKey: CryptoKey; publicJwk: JWK };
  /**
   * Extra claims stored with the token and returned by introspection as top-level members (oidc-provider's
   * `extraTokenClaims`): `acr`, `auth_time`, `roles`, `realm_access`, custom claims. Must be JSON.
   */
  claims?: Record<string, unknown>;
}

export interface StartOptions {
  /** Lifetime of client-credentials access tokens, seconds. Default 600. */
  tokenTtlSeconds?: number;
  /** Port on 127.0.0.1. Default: a free port. */
  port?: number;
  /**
   * RFC 9701 signed introspection responses (`features.jwtIntrospection`). When on, oidc-provider signs the
   * answer for *every* client that asks with `Accept: application/token-introspection+jwt` (its default
   * `introspection_signed_response_alg` is RS256); when off, it answers JSON whatever is asked. Default true.
   */
  jwtIntrospection?: boolean;
  /** The `web` client's `backchannel_logout_uri` (OpenID Connect Back-Channel Logout 1.0). Default: none. */
  backchannelLogoutUri?: string;
}

/** An access token of a user session at the `web` client (see `issueSessionToken`). */
export interface SessionToken {
  readonly token: string;
  readonly accountId: string;
  readonly sid: string;
  readonly grantId: string;
}

/**
 * A real OpenID Provider (`oidc-provider`) on 127.0.0.1: issues opaque access tokens with the
 * client-credentials grant, introspects (RFC 7662) and revokes them. In-memory storage, so a
 * restart forgets every token — exactly what an IdP restart does.
 */
let signingKey: JWK | undefined;

export class EmbeddedAuthorizationServer {
  /** Requests seen at the introspection endpoint since start (or the last `resetCounters()`): tests count AS calls with it. */
  introspectionRequests = 0;
  /** Raw request bodies seen at the introspection endpoint (for asserting client authentication). */
  readonly introspectionLog: Array<{ headers: IncomingMessage['headers'] }> = [];
  private server?: Server;
  private nextTtl?: number;
  private nextClaims?: Record<string, unknown>;
  private provider?: Provider;
  private port = 0;
  private readonly sockets = new Set<import('node:net').Socket>();

  private signingKeys: JWK[];
  private callback?: ReturnType<Provider['callback']>;
  private readonly providerListeners: Array<[string, (...args: any[]) => void]> = [];

  private constructor(
    private readonly options: StartOptions,
    readonly jwtClientKey: { privateJwk: JWK; publicJwk: JWK },
    signingKey: JWK,
  ) {
    this.signingKeys = [signingKey];
  }

  static async start(options: StartOptions = {}): Promise<EmbeddedAuthorizationServer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'api-jwt-key' };
    const { kty, crv, x, y } = await exportJWK(publicKey);
    const publicJwk = { kty, crv, x, y, alg: 'ES256', kid: 'api-jwt-key', use: 'sig' };
    signingKey ??= await generateKeyPair('RS256', { extractable: true }).then(async (k) => ({
      ...(await exportJWK(k.privateKey)),
      alg: 'RS256',
      use: 'sig',
      kid: 'as-signing',
    }));
    const as = new EmbeddedAuthorizationServer(options, { privateJwk, publicJwk }, signingKey!);
    await as.listen(options.port ?? 0);
    return as;
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  /**
   * What another app needs to use this server: the environment variables the sample (and the consumer
   * apps CI builds) read, and a command that issues a token for the demo client application.
   */
  connectionInfo(): { env: Record<string, string>; tokenCommand: string } {
    return {
      env: {
        AUTH_ISSUER: this.issuer,
        AUTH_CLIENT_ID: CLIENTS.basic.clientId,
        AUTH_CLIENT_SECRET: CLIENTS.basic.clientSecret,
        AUTH_ALLOW_INSECURE: 'true', // plain HTTP on loopback
      },
      tokenCommand:
        `curl -s -u ${CLIENTS.app.clientId}:${CLIENTS.app.clientSecret} -d grant_type=client_credentials ` +
        `-d 'scope=${SCOPES.slice(0, 2).join(' ')}' ${this.tokenEndpoint}`,
    };
  }

  get introspectionEndpoint(): string {
    return `${this.issuer}/token/introspection`;
  }
  /** The JWK Set of the server's signing keys (JWT access tokens, RFC 9701 responses). */
  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }
  /** `kid` of the key that signs now. */
  get currentKid(): string {
    return this.signingKeys[0].kid!;
  }

  /**
   * Key rotation: a new RS256 key signs from now on; the previous one stays published so tokens it signed
   * keep verifying. Issued tokens are kept (same in-memory storage).
   */
  async rotateSigningKey(): Promise<void> {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const next = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: `as-signing-${randomUUID().slice(0, 8)}` };
    this.signingKeys = [next, this.signingKeys[0]];
    this.provider = this.createProvider();
    this.callback = this.provider.callback();
  }

  /**
   * Signs claims with the server's current key, as oidc-provider signs its ID tokens (`typ: JWT`): for tests
   * that present an ID token, or another JWT the server really signed, as an access token.
   */
  async signWithServerKey(claims: Record<string, unknown>, typ = 'JWT'): Promise<string> {
    const { importJWK } = await import('jose');
    const jwk = this.signingKeys[0];
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ }).sign(await importJWK(jwk, 'RS256'));
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }
  /**
   * An introspection endpoint that authenticates callers by *bearer token* (as WSO2 and others do):
   * the caller's own access token must be a live token of the `api-bearer` client at this server.
   */
  get bearerIntrospectionEndpoint(): string {
    return `${this.issuer}/bearer/introspection`;
  }

  /** Requests at the JWK Set endpoint. */
  jwksRequests = 0;
  /** Requests at the token endpoint (any client). */
  tokenRequests = 0;
  /** Requests at the bearer-authenticated introspection endpoint, and how many were refused with 401. */
  bearerIntrospectionRequests = 0;
  bearerIntrospectionRejections = 0;

  resetCounters(): void {
    this.tokenRequests = 0;
    this.bearerIntrospectionRequests = 0;
    this.bearerIntrospectionRejections = 0;
    this.introspectionRequests = 0;
    this.jwksRequests = 0;
    this.introspectionLog.length = 0;
  }

  /** Obtain a real opaque access token for the `app` client (client-credentials grant). */
  async issueToken(request: TokenRequest = {}): Promise<string> {
    this.nextTtl = request.ttlSeconds;
    this.nextClaims = request.claims;
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (request.scope) body.set('scope', request.scope);
    if (request.resource) body.set('resource', request.resource);
    const headers: Record<string, string> = {
      authorization: basic(CLIENTS.app.clientId, CLIENTS.app.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (request.dpop) {
      headers.dpop = await new SignJWT({ htm: 'POST', htu: this.tokenEndpoint, jti: randomUUID() })
        .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: request.dpop.publicJwk })
        .setIssuedAt()
        .sign(request.dpop.privateKey);
    }
    const res = await fetchOnce(this.tokenEndpoint, { method: 'POST', headers, body });
    const json = (await res.json()) as { access_token?: string };
    this.nextTtl = undefined;
    this.nextClaims = undefined;
    if (!res.ok || !json.access_token) throw new Error(`token request failed: ${res.status} ${JSON.stringify(json)}`);
    return json.access_token;
  }

  /**
   * A real refresh token of the `app` client for `accountId`, stored by oidc-provider as its
   * authorization-code flow would (grant + refresh token models): what a client could present as a bearer token.
   */
  async issueRefreshToken(accountId = 'alice'): Promise<string> {
    const provider = this.provider!;
    const client = await provider.Client.find(CLIENTS.app.clientId);
    const grant = new provider.Grant({ accountId, clientId: CLIENTS.app.clientId });
    grant.addOIDCScope('openid offline_access');
    const grantId = await grant.save();
    const token = new provider.RefreshToken({ accountId, client, grantId, scope: 'openid offline_access', gty: 'authorization_code' } as never);
    return token.save();
  }

  /**
   * A real access token of the `app` client bound to a client certificate (RFC 8705 `cnf.x5t#S256`),
   * as oidc-provider's mTLS feature would issue it to a client authenticating with that certificate.
   */
  async issueCertificateBoundToken(thumbprint: string, scope = 'read'): Promise<string> {
    const provider = this.provider!;
    const client = await provider.Client.find(CLIENTS.app.clientId);
    const token = new provider.ClientCredentials({ client, scope } as never);
    (token as unknown as Record<string, string>)['x5t#S256'] = thumbprint;
    return token.save();
  }

  /**
   * A real certificate-bound access token (RFC 8705 §3) of the `app-mtls` client: oidc-provider's
   * `features.mTLS.certificateBoundAccessTokens` binds it to `certificatePem` (`cnf.x5t#S256`).
   */
  async issueTokenWithCertificate(certificatePem: string, scope = 'read'): Promise<string> {
    const res = await fetchOnce(this.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basic(CLIENTS.appMtls.clientId, CLIENTS.appMtls.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        'x-client-cert': encodeURIComponent(certificatePem),
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
    });
    const json = (await res.json()) as { access_token?: string };
    if (!res.ok || !json.access_token) throw new Error(`token request failed: ${res.status} ${JSON.stringify(json)}`);
    return json.access_token;
  }

  /**
   * Listens to oidc-provider's events (`revocation.success`, `grant.revoked`, `backchannel.success`, …), also
   * across `restart()` and key rotation: for tests that build a transmitter from the server's own events.
   */
  on(event: string, listener: (...args: any[]) => void): void {
    this.providerListeners.push([event, listener]);
    this.provider?.on(event as never, listener);
  }

  /** Sets the `web` client's `backchannel_logout_uri` (the provider is rebuilt; issued tokens are kept). */
  setBackchannelLogoutUri(uri: string): void {
    this.options.backchannelLogoutUri = uri;
    this.provider = this.createProvider();
    this.callback = this.provider.callback();
  }

  /**
   * A real access token of a user session: `accountId` signed in to the `web` client in session `sid`, stored
   * as oidc-provider's authorization-code flow stores it (grant, session-bound access token). Its introspection
   * answer carries `sub` and `sid`.
   */
  async issueSessionToken(accountId = 'alice', scope = 'openid read'): Promise<SessionToken> {
    const provider = this.provider!;
    const client = await provider.Client.find(CLIENTS.web.clientId);
    const grant = new provider.Grant({ accountId, clientId: CLIENTS.web.clientId });
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    const sid = randomUUID();
    const token = await new provider.AccessToken({ accountId, client, grantId, scope, sid, gty: 'authorization_code' } as never).save();
    return { token, accountId, sid, grantId };
  }

  /**
   * Ends a user session as oidc-provider's end-session endpoint does: the grant and its tokens are revoked,
   * and the `web` client is sent a back-channel logout token (signed by oidc-provider, POSTed to its
   * `backchannel_logout_uri`). Rejects when the client does not answer 200.
   */
  async endSession(session: SessionToken): Promise<void> {
    await this.endSessionQuietly(session);
    const provider = this.provider!;
    const client = await provider.Client.find(CLIENTS.web.clientId);
    await (client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }).backchannelLogout(session.accountId, session.sid);
  }

  /** Revokes a session's grant and token at the server without telling any client (no logout token). */
  async endSessionQuietly(session: SessionToken): Promise<void> {
    const provider = this.provider!;
    await (await provider.AccessToken.find(session.token))?.destroy();
    await (await provider.Grant.find(session.grantId))?.destroy();
  }

  /** Revokes a token at the AS (RFC 7009) as `client` (its own client). */
  async revokeAs(client: { clientId: string; clientSecret: string }, token: string): Promise<void> {
    const res = await fetchOnce(`${this.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: basic(client.clientId, client.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    if (!res.ok) throw new Error(`revocation failed: ${res.status}`);
  }

  /** Revoke a token at the AS (RFC 7009); only its own client may. */
  async revoke(token: string): Promise<void> {
    const res = await fetchOnce(`${this.issuer}/token/revocation`, {
      method: 'POST',
      headers: {
        authorization: basic(CLIENTS.app.clientId, CLIENTS.app.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
    });
    if (!res.ok) throw new Error(`revocation failed: ${res.status}`);
  }

  /** Stop listening and drop open connections (keep-alive sockets included). */
  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Start again on the same port with a fresh in-memory state (every token forgotten). */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    const server = createServer();
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.provider = this.createProvider();
    this.callback = this.provider.callback();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/client-jwks') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: [this.jwtClientKey.publicJwk] }));
        return;
      }
      if (req.url === '/bearer/introspection' && req.method === 'POST') {
        void this.bearerIntrospection(req, res);
        return;
      }
      if (req.url === '/token' && req.method === 'POST') this.tokenRequests++;
      if (req.url?.startsWith('/token/introspection')) {
        this.introspectionRequests++;
        this.introspectionLog.push({ headers: req.headers });
      }
      if (req.url === '/jwks') this.jwksRequests++;
      void this.callback!(req, res);
    });
    this.server = server;
  }

  private async bearerIntrospection(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.bearerIntrospectionRequests++;
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const caller = bearer ? await this.provider!.ClientCredentials.find(bearer) : undefined;
    if (!caller || caller.isExpired || caller.clientId !== CLIENTS.bearer.clientId) {
      this.bearerIntrospectionRejections++;
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' });
      res.end(JSON.stringify({ error: 'invalid_token' }));
      return;
    }
    // Authorized: answer with this server's own RFC 7662 introspection.
    const answer = await fetch(this.introspectionEndpoint, {
      method: 'POST',
      headers: { authorization: basic(CLIENTS.basic.clientId, CLIENTS.basic.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(await answer.text());
  }

  private createProvider(): Provider {
    const ttl = () => this.nextTtl ?? this.options.tokenTtlSeconds ?? 600;
    const common = { grant_types: ['client_credentials'], redirect_uris: [], response_types: [] };
    // oidc-provider prints development notices (Node 20 runtime, in-memory adapter): expected here.
    const { warn, info } = console;
    console.warn = console.info = () => undefined;
    const provider = new Provider(this.issuer, {
      clients: [
        { ...common, client_id: CLIENTS.basic.clientId, client_secret: CLIENTS.basic.clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
        { ...common, client_id: CLIENTS.bearer.clientId, client_secret: CLIENTS.bearer.clientSecret },
        { ...common, client_id: CLIENTS.post.clientId, client_secret: CLIENTS.post.clientSecret, token_endpoint_auth_method: 'client_secret_post' },
        {
          ...common,
          client_id: CLIENTS.jwt.clientId,
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'ES256',
          // Served over HTTP rather than inline: Jest's cross-realm structuredClone breaks oidc-provider's
          // plain-object check of inline keys.
          jwks_uri: `${this.issuer}/client-jwks`,
        },
        {
          ...common,
          client_id: CLIENTS.signed.clientId,
          client_secret: CLIENTS.signed.clientSecret,
          // Recognized only with features.jwtIntrospection.
          ...(this.options.jwtIntrospection !== false ? { introspection_signed_response_alg: 'RS256' } : {}),
        },
        { ...common, client_id: CLIENTS.app.clientId, client_secret: CLIENTS.app.clientSecret, scope: SCOPES.join(' ') },
        {
          client_id: CLIENTS.web.clientId,
          client_secret: CLIENTS.web.clientSecret,
          grant_types: ['authorization_code', 'client_credentials'],
          response_types: ['code'],
          redirect_uris: ['https://web.example.com/callback'],
          scope: SCOPES.join(' '),
          ...(this.options.backchannelLogoutUri
            ? { backchannel_logout_uri: this.options.backchannelLogoutUri, backchannel_logout_session_required: true }
            : {}),
        },
        {
          ...common,
          client_id: CLIENTS.appMtls.clientId,
          client_secret: CLIENTS.appMtls.clientSecret,
          scope: SCOPES.join(' '),
          tls_client_certificate_bound_access_tokens: true,
        },
      ],
      scopes: [...SCOPES, 'openid', 'offline_access'],
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true, allowedPolicy: async () => true },
        jwtIntrospection: { enabled: this.options.jwtIntrospection !== false },
        backchannelLogout: { enabled: true },
        // RFC 8705 certificate-bound tokens. This server listens on plain HTTP, so the client certificate
        // reaches it in a header, as from a TLS-terminating proxy (`issueTokenWithCertificate`).
        mTLS: {
          enabled: true,
          certificateBoundAccessTokens: true,
          getCertificate: (ctx) => {
            const header = ctx.get('x-client-cert');
            return header ? decodeURIComponent(header) : undefined;
          },
        },
        revocation: {
          enabled: true,
          allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => undefined,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => ({
            scope: SCOPES.join(' '),
            audience: resource,
            accessTokenFormat: resource.startsWith(JWT_RESOURCE_PREFIX) ? 'jwt' : 'opaque',
            accessTokenTTL: ttl(),
          }),
        },
      },
      // Claims asked for by issueToken({ claims }); a JSON round trip makes a plain object of this realm
      // (oidc-provider checks plain-object-ness; Jest's module realm differs).
      extraTokenClaims: () => (this.nextClaims ? JSON.parse(JSON.stringify(this.nextClaims)) : undefined),
      ttl: { ClientCredentials: () => ttl(), RefreshToken: () => 14 * 86_400, Grant: () => 14 * 86_400 },
      jwks: { keys: this.signingKeys },
      // oidc-provider guards its own outgoing requests (back-channel logout tokens) against special-use addresses
      // (SSRF) — in plain Node; under Jest its guard is not installed. This server and the clients it calls live on
      // 127.0.0.1, so loopback URLs go out without that guard (any other URL keeps it).
      fetch: (url, options) => {
        const { hostname } = new URL(url instanceof Request ? url.url : url);
        if (hostname !== '127.0.0.1' && hostname !== 'localhost' && hostname !== '[::1]') return fetch(url, options);
        const { dispatcher: _ssrfGuard, ...loopback } = (options ?? {}) as RequestInit & { dispatcher?: unknown };
        return fetch(url, loopback);
      },
    });
    // oidc-provider logs server errors through its own emitter; keep test output quiet.
    provider.on('server_error', () => undefined);
    for (const [event, listener] of this.providerListeners) provider.on(event as never, listener);
    console.warn = warn;
    console.info = info;
    return provider;
  }
}

/** fetch, retried once when a kept-alive socket turns out to be closed (e.g. right after a restart). */
async function fetchOnce(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}
