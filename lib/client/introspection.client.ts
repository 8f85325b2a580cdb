import { randomUUID } from 'node:crypto';
import type { AxiosInstance, AxiosResponse } from 'axios';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { closeAuthorizationServerHttp, createAuthorizationServerHttp } from './authorization-server-http.js';
import { ClientAuthentication } from './client-authentication.js';
import { ConfigurationGate } from './configuration-gate.js';
import { EndpointResolver, type ResolvedEndpoint } from './discovery.js';
import { OwnAccessToken } from './own-access-token.js';
import { parseIntrospectionResponse, TOKEN_REJECTED, type IntrospectionResponse } from './introspection-response.js';
import { checkPrivateKey } from './private-key-check.js';
import type { ResponseOpener } from '../ports.js';

export type { ResponseOpener };

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
    this.endpoints = new EndpointResolver(options, this.http, this.configuration);
    if (options.clientAuthMethod === 'client_credentials_bearer') {
      this.auth = new ClientAuthentication(options, options.privateKey ? 'private_key_jwt' : 'client_secret_basic');
      this.ownToken = new OwnAccessToken(options, this.http, this.auth);
    } else {
      this.auth = new ClientAuthentication(options);
    }
  }

  /**
   * The same kind of client for one tenant's resolved options (`tenants`): how each tenant's engine gets its client, so
   * a client that replaces this one (the test kit's in-memory authorization server) serves every tenant too. Internal.
   */
  forTenant(options: ResolvedOptions): IntrospectionClient {
    return new IntrospectionClient(options);
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
    // A discovery mistake was held where discovery runs (EndpointResolver), for every path that needs the endpoints.
    if (configuration && error.reason !== 'discovery_misconfigured' && (token === this.probeToken || (await this.confirm(error, signal)))) {
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
        'No token endpoint for `client_credentials_bearer`: set `tokenEndpoint`, or `issuer` whose metadata lists token_endpoint.',
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
      // Fail closed: with `signedIntrospection` on, a plain JSON answer is never read (were the opener's wiring lost).
      if (this.options.signedIntrospection) {
        fail('unexpected_error', retryAfter, '`signedIntrospection` is on but no signed-response opener is attached: the answer was not read.', status);
      }
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
    // 408, 421 and 425 come from servers and proxies in trouble, not from a wrong endpoint: outages, not configuration.
    if (status >= 500 || status === 408 || status === 421 || status === 425) {
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

function fail(reason: AuthorizationServerUnavailableError['reason'], retryAfterSeconds: number, message: string, status: number, serverHint?: number): never {
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
