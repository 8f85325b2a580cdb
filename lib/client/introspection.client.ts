import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { KeyObject, randomUUID } from 'node:crypto';
import axios, { type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import type { JWK } from 'jose';
import { loadJose } from '../utils/jose.js';
import { AuthorizationServerUnavailableError, IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ClientAuthentication } from './client-authentication.js';
import { ConfigurationGate } from './configuration-gate.js';
import { EndpointResolver, type ResolvedEndpoint } from './discovery.js';
import { OwnAccessToken } from './own-access-token.js';
import { parseIntrospectionResponse, TOKEN_REJECTED, type IntrospectionResponse } from './introspection-response.js';

/** RFC 6749 §5.2 / RFC 7662 §2.3 / RFC 6750 §3.1 errors that are about the token sent, not about us. */
const TOKEN_ERRORS = new Set(['invalid_request', 'invalid_token', 'unsupported_token_type']);

/**
 * The HTTP client of the introspection endpoint (RFC 7662 §2.1): one POST per call, no retries,
 * no caching (the layers above do that). A 4xx with an RFC 6749 error about the token itself
 * (`invalid_request`, `invalid_token`, `unsupported_token_type`) is a verdict on the token: an
 * inactive response marked `TOKEN_REJECTED`. Every other failure is an
 * `AuthorizationServerUnavailableError` with a precise `reason`.
 */
export class IntrospectionClient {
  readonly endpoints: EndpointResolver;
  /** The library's HTTP client (also fetches the authorization server's keys). */
  readonly http: AxiosInstance;
  /** RFC 9701: set when `signedIntrospection` is on; asks for and opens signed responses. */
  responseOpener?: ResponseOpener;
  private readonly auth: ClientAuthentication;
  private readonly ownToken?: OwnAccessToken;
  private readonly resetListeners: Array<(detail: { tokenAgeMs: number }) => void> = [];
  /** Configuration failures, held and retried at a slow pace (never counted by the circuit breaker). */
  readonly configuration = new ConfigurationGate();
  /** Whether the start-up check (`verifyOnStartup`) applies to this client (the test kit's in-memory one: no). */
  readonly verifiesOnStartup: boolean = true;
  /** A token nobody holds: the start-up check and health probes introspect it (a healthy AS answers `active: false`). */
  readonly probeToken = `configuration-probe-${randomUUID()}`;
  private confirming?: Promise<boolean>;
  private lastConfirmation = 0;

  constructor(private readonly options: ResolvedOptions) {
    this.http = createAuthorizationServerHttp(options);
    this.endpoints = new EndpointResolver(options, this.http);
    if (options.clientAuthMethod === 'client_credentials_bearer') {
      this.auth = new ClientAuthentication(options, options.privateKey ? 'private_key_jwt' : 'client_secret_basic');
      this.ownToken = new OwnAccessToken(options, this.http, this.auth);
    } else {
      this.auth = new ClientAuthentication(options);
    }
  }

  /**
   * Called when the introspection endpoint refused our own, unexpired access token and a new one had
   * to be fetched: the authorization server evidently lost its state (e.g. restarted).
   */
  onAuthorizationServerReset(listener: (detail: { tokenAgeMs: number }) => void): void {
    this.resetListeners.push(listener);
  }

  /** Nest lifecycle: checks the signing key once, at start-up, rather than on every lookup. */
  async onModuleInit(): Promise<void> {
    if (this.options.privateKey && (this.options.clientAuthMethod === 'private_key_jwt' || this.options.clientAuthMethod === 'client_credentials_bearer')) {
      await checkPrivateKey(this.options.privateKey, this.options.privateKeyAlgorithm);
    }
  }

  /** Closes idle keep-alive connections (on application shutdown). */
  close(): void {
    closeAuthorizationServerHttp(this.http, this.options);
  }

  /**
   * POSTs the token to the introspection endpoint and returns the wire-valid response. While a configuration
   * failure is held ({@link ConfigurationGate}), rejects with it at once, but for one trial call at a slow pace.
   */
  async introspect(token: string, signal?: AbortSignal): Promise<IntrospectionResponse> {
    this.configuration.enter();
    try {
      const response = await this.introspectNow(token, signal);
      this.configuration.passed();
      return response;
    } catch (error) {
      await this.classifyFailure(error, token, signal);
      throw error;
    }
  }

  /**
   * A configuration failure is held by the gate when it holds for every token: discovery involves none; a refusal
   * of a call that carried a token (credentials refused, not an introspection endpoint) is confirmed first with
   * {@link probeToken} — at most one confirmation a second — so that no token an attacker sends holds everyone back.
   */
  private async classifyFailure(error: unknown, token: string, signal?: AbortSignal): Promise<void> {
    const configuration = error instanceof AuthorizationServerUnavailableError && error.configurationError;
    if (configuration && (error.reason === 'discovery_misconfigured' || token === this.probeToken || (await this.confirm(error, signal)))) {
      this.configuration.failed(error);
    } else {
      this.configuration.inconclusive();
    }
  }

  private confirm(error: AuthorizationServerUnavailableError, signal?: AbortSignal): Promise<boolean> {
    if (this.confirming) return this.confirming;
    if (Date.now() - this.lastConfirmation < 1000) return Promise.resolve(false);
    this.lastConfirmation = Date.now();
    this.confirming = this.introspectNow(this.probeToken, signal)
      .then(
        () => false,
        (again: unknown) => again instanceof AuthorizationServerUnavailableError && again.reason === error.reason,
      )
      .finally(() => (this.confirming = undefined));
    return this.confirming;
  }

  private async introspectNow(token: string, signal?: AbortSignal): Promise<IntrospectionResponse> {
    const endpoint = await this.endpoints.resolve(signal);
    if (this.ownToken) return this.introspectWithOwnToken(token, endpoint, signal);
    const credentials = await this.auth.credentials(endpoint.issuer ?? this.options.expectedIssuer ?? endpoint.introspectionEndpoint.href);
    return this.classify(await this.post(endpoint.introspectionEndpoint, token, credentials, signal));
  }

  /**
   * `client_credentials_bearer`: authenticate with our own access token. If the endpoint refuses it
   * (401), drop it, fetch a new one once, and retry once — no storm of failures until it would have expired.
   */
  private async introspectWithOwnToken(token: string, endpoint: ResolvedEndpoint, signal?: AbortSignal): Promise<IntrospectionResponse> {
    const tokenEndpoint = endpoint.tokenEndpoint;
    if (!tokenEndpoint) {
      throw new AuthorizationServerUnavailableError(
        'discovery_misconfigured',
        this.options.resilience.retryAfterSeconds,
        "No token endpoint for `client_credentials_bearer`: set `tokenEndpoint`, or `issuer` whose metadata lists token_endpoint.",
      );
    }
    const audience = endpoint.issuer ?? tokenEndpoint;
    const own = await this.ownToken!.get(tokenEndpoint, audience);
    const res = await this.post(endpoint.introspectionEndpoint, token, { headers: { authorization: `Bearer ${own.value}` } }, signal);
    if (res.status !== 401) return this.classify(res);
    this.ownToken!.invalidate(own);
    const renewed = await this.ownToken!.get(tokenEndpoint, audience);
    const retried = await this.post(endpoint.introspectionEndpoint, token, { headers: { authorization: `Bearer ${renewed.value}` } }, signal);
    if (retried.status !== 401) {
      for (const listener of this.resetListeners) listener({ tokenAgeMs: Date.now() - own.issuedAt });
    } else {
      this.ownToken!.invalidate(renewed);
    }
    return this.classify(retried);
  }

  private async post(
    endpoint: URL,
    token: string,
    credentials: { headers?: Record<string, string>; body?: Record<string, string> },
    signal?: AbortSignal,
  ): Promise<AxiosResponse<string>> {
    const body = new URLSearchParams({ token, token_type_hint: 'access_token', ...credentials.body });
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post<string>(endpoint.href, body.toString(), {
        signal,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: this.responseOpener?.accept ?? 'application/json',
          ...credentials.headers,
        },
      });
    } catch (cause) {
      throw this.transportError(cause);
    }
    return res;
  }

  private classify(res: AxiosResponse<string>): IntrospectionResponse | Promise<IntrospectionResponse> {
    const status = res.status;
    const retryAfter = this.options.resilience.retryAfterSeconds;
    if (status === 200) {
      if (this.responseOpener) return this.responseOpener.open(res.data, header(res, 'content-type'));
      return parseIntrospectionResponse(res.data, header(res, 'content-type'), retryAfter);
    }
    const parsedHint = parseRetryAfter(header(res, 'retry-after'));
    // No call before the server's retry time, but an absurd value must not lock us out for days.
    const serverHint = parsedHint === undefined ? undefined : Math.min(parsedHint, this.options.resilience.maxRetryAfterSeconds);
    const oauthError = describeOAuthError(res.data);
    if (status === 401 || status === 403 || /^invalid_client(:|$)/.test(oauthError ?? '')) {
      return fail(
        'client_authentication_failed',
        retryAfter,
        `The introspection endpoint rejected this API's client credentials (HTTP ${status}${oauthError ? `: ${oauthError}` : ''}). ` +
          `Check \`clientId\`, the secret or key, and \`clientAuthMethod\` ('${this.options.clientAuthMethod}') ` +
          'against the client registered at the authorization server, and that it may introspect tokens.',
        status,
      );
    }
    const errorCode = oauthError?.split(':', 1)[0];
    if (status >= 400 && status < 500 && status !== 429 && errorCode && TOKEN_ERRORS.has(errorCode)) {
      // The AS looked at the token and refused it: the token is not acceptable here (401), and the
      // negative cache applies — this is no sign of trouble at the AS, so it never feeds the breaker.
      return { active: false, [TOKEN_REJECTED]: `HTTP ${status} ${oauthError}` } as IntrospectionResponse;
    }
    if (status === 429) {
      return fail('rate_limited', serverHint ?? retryAfter, `The introspection endpoint is rate limiting us (HTTP 429).`, status, serverHint);
    }
    if (status >= 500) {
      return fail('server_error', serverHint ?? retryAfter, `The introspection endpoint answered HTTP ${status}.`, status, serverHint);
    }
    return fail(
      'unexpected_status',
      retryAfter,
      `The introspection endpoint answered HTTP ${status}${oauthError ? ` (${oauthError})` : ''}; expected 200. Check that \`introspectionEndpoint\` points at the RFC 7662 endpoint.`,
      status,
    );
  }

  private transportError(cause: unknown): AuthorizationServerUnavailableError {
    const e = cause as { code?: string; message?: string; name?: string };
    const retryAfter = this.options.resilience.retryAfterSeconds;
    if (typeof e?.message === 'string' && e.message.includes('maxContentLength')) {
      return new AuthorizationServerUnavailableError(
        'invalid_response',
        retryAfter,
        `The introspection response exceeded maxResponseBytes (${this.options.maxResponseBytes} bytes).`,
        { cause },
      );
    }
    if (e?.code === 'ERR_CANCELED' || e?.name === 'CanceledError') {
      return new AuthorizationServerUnavailableError('timeout', retryAfter, 'The introspection request was aborted (timeout).', { cause });
    }
    return new AuthorizationServerUnavailableError(
      'connection_failed',
      retryAfter,
      `The introspection endpoint could not be reached (${e?.code ?? e?.message ?? 'unknown error'}).`,
      { cause },
    );
  }
}

/** Reads a 200 answer in place of the plain JSON parser (RFC 9701 signed responses). */
export interface ResponseOpener {
  readonly accept: string;
  open(body: string, contentType: string | undefined): Promise<IntrospectionResponse>;
}

/**
 * How long the keep-alive agents this library creates keep an idle connection (ms). Below the idle
 * timeouts of common servers (Node.js and Apache: 5 s; a server's `Keep-Alive: timeout=N` hint lowers
 * it to N − 1 s) and far below those of middleboxes that forget idle flows silently (NAT gateways,
 * L4 load balancers, firewalls: minutes), so a pooled connection is rarely dead when it is reused.
 */
export const IDLE_CONNECTION_TIMEOUT_MS = 4000;

/** Transport errors of a connection that dropped before any response. */
const DROPPED_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/** Marks a request config that is already the replay of a request that met a stale connection. */
const REPLAYED = 'staleConnectionReplayed';

/**
 * True when the error is a kept-alive connection, reused from the agent's pool, that dropped before
 * any response (`ECONNRESET`/`EPIPE`, "socket hang up"): the server or a middlebox had closed the idle
 * connection — a stale connection, not a sign that the server is down (Node.js's `request.reusedSocket`).
 */
export function isStaleConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; response?: unknown; request?: { reusedSocket?: unknown } } | undefined;
  return !!e && typeof e.code === 'string' && DROPPED_CODES.has(e.code) && !e.response && e.request?.reusedSocket === true;
}

/**
 * The HTTP client for the authorization server's endpoints: no redirects (credentials stay with the
 * configured endpoint), bounded bodies, text responses parsed by us, every status returned (the caller
 * classifies it), keep-alive agents unless the user gave their own (idle connections closed after
 * {@link IDLE_CONNECTION_TIMEOUT_MS}). Deadlines come through `signal`.
 *
 * A request that met a stale pooled connection ({@link isStaleConnectionError}) is sent once more at
 * once — as Node.js advises — after the agent's other idle connections are dropped (idle as long or
 * longer, they are most likely stale too), so the replay goes out on a fresh connection. The request
 * never reached the server's application; every call here is a read (introspection, keys, metadata) or
 * a token request whose duplicate is harmless. The replay is part of the same attempt: no retry, no
 * backoff, nothing for the circuit breaker.
 */
export function createAuthorizationServerHttp(options: ResolvedOptions): AxiosInstance {
  const http = axios.create({
    timeout: 0,
    maxRedirects: 0,
    maxContentLength: options.maxResponseBytes,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    httpAgent: options.httpAgent ?? new HttpAgent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
    httpsAgent: options.httpsAgent ?? new HttpsAgent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
  });
  http.interceptors.response.use(undefined, (error: unknown) => {
    const config = (error as { config?: InternalAxiosRequestConfig & { [REPLAYED]?: boolean } }).config;
    if (!config || config[REPLAYED] || config.signal?.aborted || !isStaleConnectionError(error)) return Promise.reject(error);
    dropIdleConnections((error as { request?: { agent?: unknown } }).request?.agent);
    return http.request({ ...config, [REPLAYED]: true } as InternalAxiosRequestConfig);
  });
  return http;
}

/** Closes the idle (pooled, unused) connections of an agent; connections in use are left alone. */
function dropIdleConnections(agent: unknown): void {
  const free = (agent as { freeSockets?: Record<string, Array<{ destroy(): void }> | undefined> } | undefined)?.freeSockets;
  if (!free || typeof free !== 'object') return;
  for (const sockets of Object.values(free)) for (const socket of [...(sockets ?? [])]) socket.destroy();
}

/** Closes the keep-alive agents this library created (never the user's own). */
export function closeAuthorizationServerHttp(http: AxiosInstance, options: ResolvedOptions): void {
  if (!options.httpAgent) (http.defaults.httpAgent as HttpAgent).destroy();
  if (!options.httpsAgent) (http.defaults.httpsAgent as HttpsAgent).destroy();
}

function fail(
  reason: AuthorizationServerUnavailableError['reason'],
  retryAfterSeconds: number,
  message: string,
  status: number,
  serverHint?: number,
): never {
  throw new AuthorizationServerUnavailableError(reason, retryAfterSeconds, message, {
    status,
    retryAfterFromServer: serverHint !== undefined,
  });
}

/** `error` and `error_description` of an OAuth 2.0 error response (RFC 6749 §5.2), if the body is one. */
function describeOAuthError(body: unknown): string | undefined {
  if (typeof body !== 'string' || body.length > 4096) return undefined;
  try {
    const json = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    if (typeof json?.error !== 'string') return undefined;
    const description = typeof json.error_description === 'string' ? `: ${json.error_description.slice(0, 200)}` : '';
    return `${json.error.slice(0, 64)}${description}`;
  } catch {
    return undefined;
  }
}

function header(res: AxiosResponse, name: string): string | undefined {
  const value = res.headers[name] as unknown;
  return value === undefined || value === null ? undefined : String(value);
}

/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns whole seconds ≥ 1. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.max(1, Number(trimmed));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(1, Math.ceil((date - now) / 1000));
}

/**
 * Imports `privateKey` the way client authentication will, and signs a throw-away JWT with it, so a
 * wrong key fails start-up with what to change instead of failing every lookup later.
 */
export async function checkPrivateKey(key: NonNullable<ResolvedOptions['privateKey']>, alg: string): Promise<void> {
  const problem = (what: string): never => {
    throw new IntrospectionConfigurationError(`Invalid IntrospectionModule options:\n  - \`privateKey\` ${what}`);
  };
  let imported: unknown = key;
  const { importJWK, importPKCS8, SignJWT } = await loadJose();
  if (typeof key === 'string') {
    if (/-----BEGIN (RSA |EC )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(key)) {
      problem('is a public key or certificate: give the *private* key (PKCS#8 PEM, "-----BEGIN PRIVATE KEY-----").');
    }
    if (key.includes('\\n') && !key.includes('\n')) {
      problem('contains the two characters "\\n" instead of line breaks (a PEM pasted into a one-line environment variable): replace them with real newlines, e.g. `privateKey: process.env.KEY.replace(/\\\\n/g, "\\n")`.');
    }
    if (key.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
      problem('is an encrypted PKCS#8 PEM: give the unencrypted key ("-----BEGIN PRIVATE KEY-----"), e.g. `openssl pkcs8 -topk8 -nocrypt -in encrypted.pem`, or a KeyObject from crypto.createPrivateKey({ key, passphrase }).');
    }
    const legacy = /-----BEGIN (RSA|EC) PRIVATE KEY-----/.exec(key);
    if (legacy) {
      problem(`is a ${legacy[1]} (${legacy[1] === 'RSA' ? 'PKCS#1' : 'SEC1'}) PEM; it must be PKCS#8 ("-----BEGIN PRIVATE KEY-----"): convert it with \`openssl pkcs8 -topk8 -nocrypt -in key.pem\`.`);
    }
    if (!key.includes('-----BEGIN PRIVATE KEY-----')) problem('is a string but not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----" … "-----END PRIVATE KEY-----").');
    imported = await importPKCS8(key, alg).catch((e: Error) =>
      problem(`could not be imported for \`privateKeyAlgorithm\` '${alg}' (${e.message}): check that the key type matches the algorithm (RS*/PS* need an RSA key, ES256 a P-256 key, EdDSA an Ed25519 key).`),
    );
  } else if (typeof key === 'object' && key !== null && 'kty' in key) {
    if (!('d' in key)) problem('is a public JWK (no "d"): give the private JWK.');
    imported = await importJWK(key as JWK, alg).catch((e: Error) =>
      problem(`(a JWK of kty '${String((key as JWK).kty)}') could not be imported for \`privateKeyAlgorithm\` '${alg}' (${e.message}).`),
    );
  } else if (key instanceof KeyObject) {
    if (key.type !== 'private') problem(`is a ${key.type} KeyObject: give the private key (crypto.createPrivateKey()).`);
  } else if ((key as { type?: unknown })?.type !== 'private') {
    problem('must be a private JWK, a PKCS#8 PEM string, a private KeyObject or a private CryptoKey.');
  }
  await new SignJWT({})
    .setProtectedHeader({ alg })
    .sign(imported as KeyObject)
    .catch((e: Error) => problem(`cannot sign with \`privateKeyAlgorithm\` '${alg}' (${e.message}): set the algorithm that matches the key.`));
}
