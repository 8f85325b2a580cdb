import type { OnApplicationShutdown } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { closeAuthorizationServerHttp, createAuthorizationServerHttp } from '../client/introspection.client.js';
import { ClientAuthentication } from '../client/client-authentication.js';
import { OwnAccessToken } from '../client/own-access-token.js';
import { AuthorizationServerUnavailableError, IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import type { OutboundBackendOptions } from './outbound-options.interface.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A request body that can be sent again as it is (a stream, or a form that may hold one, cannot). */
function isReplayable(body: unknown): boolean {
  return body == null || typeof body === 'string' || body instanceof URLSearchParams || body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) || body instanceof Blob;
}

interface Backend {
  readonly tokenEndpoint: string;
  readonly assertionAudience: string;
  readonly token: OwnAccessToken;
  /** The token endpoint's own policies: one backend's AS in trouble never holds up another's. */
  readonly resilience: ResiliencePolicy;
  readonly options: OutboundBackendOptions;
}

/**
 * This API's own access tokens for the backends it calls (`outbound` option): one client-credentials
 * token per backend, cached and renewed ahead of expiry (the renewal logic of
 * `client_credentials_bearer`), one token request at a time per backend, token-endpoint calls
 * through the module's resilience policies (timeout, retries, circuit breaker).
 *
 * When a backend refuses the token (401, or 403 `invalid_token` if configured) — typically because
 * its authorization server restarted and forgot it — `fetch()` drops it, gets a new one once and
 * repeats the request once, so an IdP restart costs at most one failed backend call, not a failure
 * window as long as the token's lifetime.
 */
/** At most one renewal per backend per this interval because the backend refused a token (ms). */
const REFUSAL_RENEWAL_INTERVAL_MS = 5_000;
const renewedOnRefusal = new WeakMap<object, number>();

export class OutboundTokenService implements OnApplicationShutdown {
  private readonly backends = new Map<string, Backend>();
  private readonly closeHttp: () => void;

  /** Closes idle keep-alive connections to token endpoints (on application shutdown). */
  onApplicationShutdown(): void {
    this.closeHttp();
  }

  constructor(
    options: ResolvedOptions,
    backends: Readonly<Record<string, OutboundBackendOptions>> = {},
    /** Metrics and events (`token_introspection.outbound.*`, `onOutboundToken*`). */
    private readonly telemetry?: IntrospectionTelemetry,
  ) {
    const problems: string[] = [];
    const http: AxiosInstance = createAuthorizationServerHttp(options);
    this.closeHttp = () => closeAuthorizationServerHttp(http, options);
    for (const [name, b] of Object.entries(backends)) {
      const where = `\`outbound.${name}\``;
      let endpoint: URL | undefined;
      try {
        endpoint = new URL(String(b?.tokenEndpoint));
      } catch {
        problems.push(`${where}.tokenEndpoint is not a valid absolute URL: set it to the backend's token endpoint.`);
        continue;
      }
      if (endpoint.protocol === 'http:' && !options.allowInsecureRequests) {
        problems.push(`${where}.tokenEndpoint uses http://: use https://, or set \`allowInsecureRequests: true\` for local development only.`);
      }
      if (typeof b.clientId !== 'string' || !b.clientId) problems.push(`${where}.clientId is missing.`);
      const method = b.clientAuthMethod ?? (b.privateKey ? 'private_key_jwt' : 'client_secret_basic');
      if (method === 'private_key_jwt' ? !b.privateKey : !b.clientSecret) {
        problems.push(`${where}: ${method} needs ${method === 'private_key_jwt' ? '`privateKey`' : '`clientSecret`'}.`);
      }
      const resources = b.resource === undefined ? [] : Array.isArray(b.resource) ? b.resource : [b.resource];
      for (const r of resources) {
        if (!URL.canParse(r)) problems.push(`${where}.resource '${r}' is not an absolute URI (RFC 8707 §2).`);
      }
      const jwk = typeof b.privateKey === 'object' && b.privateKey && 'kty' in b.privateKey ? b.privateKey : undefined;
      // The backend's client, with everything else (timeouts, agents, limits) from the module.
      const derived: ResolvedOptions = {
        ...options,
        clientId: b.clientId,
        clientSecret: b.clientSecret,
        clientAuthMethod: method,
        privateKey: b.privateKey,
        privateKeyAlgorithm: b.privateKeyAlgorithm ?? (jwk?.alg as string | undefined) ?? 'RS256',
        privateKeyId: b.privateKeyId ?? (jwk?.kid as string | undefined),
        tokenScope: b.scope,
      };
      this.backends.set(name, {
        tokenEndpoint: endpoint.href,
        assertionAudience: b.assertionAudience ?? endpoint.origin,
        token: new OwnAccessToken(derived, http, new ClientAuthentication(derived), resources.length ? { resource: resources } : {}, (ms, error) =>
          this.telemetry?.outboundTokenRequest(name, ms / 1000, error?.reason),
        ),
        resilience: new ResiliencePolicy(options.resilience),
        options: b,
      });
    }
    if (problems.length) {
      throw new IntrospectionConfigurationError(`Invalid \`outbound\` options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
  }

  /** The configured backend names. */
  get names(): string[] {
    return [...this.backends.keys()];
  }

  /**
   * An access token for `backend`: the cached one, or a new one from its token endpoint.
   * Rejects with `AuthorizationServerUnavailableError` when the token endpoint cannot issue one.
   */
  async getToken(backend: string): Promise<string> {
    const b = this.backend(backend);
    const started = Date.now();
    try {
      return (await b.resilience.execute(() => b.token.get(b.tokenEndpoint, b.assertionAudience), true)).value;
    } catch (error) {
      if (error instanceof AuthorizationServerUnavailableError) {
        this.telemetry?.outboundTokenUnavailable({
          backend,
          reason: error.reason,
          status: error.status,
          retryAfterSeconds: error.retryAfterSeconds,
          elapsedMs: Date.now() - started,
        });
      }
      throw error;
    }
  }

  /**
   * Forget `token` (the backend refused it): the next `getToken()` fetches a new one. A no-op when a
   * newer token already replaced it, so many callers refused at once cause one token request.
   */
  invalidate(backend: string, token: string): void {
    this.backend(backend).token.invalidateValue(token);
  }

  /**
   * `fetch` with `Authorization: Bearer <our token for backend>`. On a 401 (or a configured 403
   * `invalid_token`) the token is dropped, a new one fetched once, and the request repeated once when
   * that is safe (idempotent method, replayable body); otherwise the refusal is returned.
   */
  async fetch(backend: string, input: string | URL, init: RequestInit = {}): Promise<Response> {
    const send = async (token: string) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const token = await this.getToken(backend);
    const first = await send(token);
    if (!this.isRefusal(backend, first.status, first.headers.get('www-authenticate'))) return first;
    const renewed = await this.renewAfterRefusal(backend, token, { status: first.status, method: init.method, body: init.body });
    if (renewed === undefined) return first;
    await first.body?.cancel();
    // A renewed token that is refused too is kept: the refusal is not about its age.
    return send(renewed);
  }

  /**
   * Whether a backend's answer refuses our token: a 401, or a 403 whose `WWW-Authenticate` says
   * `error="invalid_token"` when the backend has `retryOn403InvalidToken`. For HTTP clients of your own,
   * with `renewAfterRefusal()`.
   */
  isRefusal(backend: string, status: number, wwwAuthenticate?: string | null): boolean {
    if (status === 401) return true;
    return status === 403 && this.backend(backend).options.retryOn403InvalidToken === true &&
      /error\s*=\s*"?invalid_token"?/i.test(wwwAuthenticate ?? '');
  }

  /**
   * After `backend` refused `token` (see `isRefusal`): drops the token — at most one renewal per backend
   * every 5 s, so requests a caller shapes to be refused cannot drain the token endpoint — and resolves to a
   * new token to repeat the request with **once**, when that is safe: an idempotent method (GET, HEAD,
   * OPTIONS, PUT, DELETE, TRACE; any with `retryNonIdempotent`) and a replayable body (none, a string,
   * `URLSearchParams`, bytes, a `Blob`). Resolves to `undefined` when the refusal should be returned as is.
   * Rejects with `AuthorizationServerUnavailableError` when no new token can be had. Shared by `fetch()`
   * and `attachOutboundToken()` (axios / `@nestjs/axios`).
   */
  async renewAfterRefusal(
    backend: string,
    token: string,
    request: { readonly status: number; readonly method?: string; readonly body?: unknown },
  ): Promise<string | undefined> {
    const b = this.backend(backend);
    const tokenAgeMs = b.token.ageOf(token);
    // At most one renewal per backend every few seconds on refusals: requests a caller shapes (or a backend
    // that refuses everything) must not drain the token endpoint for every user. An IdP restart still costs
    // one failed call: the first refusal after it renews.
    const outcome = b.token.invalidateValue(token, 0, () => Date.now() - (renewedOnRefusal.get(b) ?? 0) >= REFUSAL_RENEWAL_INTERVAL_MS);
    if (outcome === 'invalidated') renewedOnRefusal.set(b, Date.now());
    const method = (request.method ?? 'GET').toUpperCase();
    const repeated = outcome !== 'kept' && isReplayable(request.body) && (IDEMPOTENT.has(method) || b.options.retryNonIdempotent === true);
    this.telemetry?.outboundTokenRefused({
      backend,
      status: request.status,
      tokenAgeMs,
      renewal: outcome === 'invalidated' ? 'renewed' : outcome === 'replaced' ? 'already_renewed' : 'rate_limited',
      repeated,
    });
    return repeated ? this.getToken(backend) : undefined;
  }

  private backend(name: string): Backend {
    const b = this.backends.get(name);
    if (!b) {
      throw new IntrospectionConfigurationError(
        `No outbound backend named '${name}': add it to the module's \`outbound\` option (configured: ${this.names.join(', ') || 'none'}).`,
      );
    }
    return b;
  }
}
