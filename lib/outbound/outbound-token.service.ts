import type { OnApplicationShutdown } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { closeAuthorizationServerHttp, createAuthorizationServerHttp } from '../client/authorization-server-http.js';
import { ClientAuthentication } from '../client/client-authentication.js';
import { OwnAccessToken } from '../client/own-access-token.js';
import { AuthorizationServerUnavailableError, IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { detachAll } from './outbound-attachments.js';
import type { OutboundBackendOptions } from './outbound-options.interface.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A request body that can be sent again as it is (a stream, or a form that may hold one, cannot). */
function isReplayable(body: unknown): boolean {
  return (
    body == null ||
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob
  );
}

interface Backend {
  readonly tokenEndpoint: string;
  readonly assertionAudience: string;
  readonly token: OwnAccessToken;
  /** The token endpoint's own policies: one backend's AS in trouble never holds up another's. */
  readonly resilience: ResiliencePolicy;
  readonly options: OutboundBackendOptions;
  /** Normalised `origins` option, or undefined when not configured. */
  readonly origins?: readonly string[];
  /** Renewals on refusal: last one per request key (method, origin, path), and the recent ones of the backend. */
  readonly renewals: { readonly byKey: Map<string, number>; recent: number[] };
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
/** At most one renewal per request key (method, origin, path) of a backend per this interval on refusals (ms). */
const REFUSAL_RENEWAL_INTERVAL_MS = 5_000;
/** And at most this many per backend within the interval, whatever the keys: refusals never drain the token endpoint. */
const REFUSAL_RENEWALS_PER_INTERVAL = 4;
/** Request keys remembered per backend (the oldest forgotten first). */
const REFUSAL_KEYS_MAX = 256;

export class OutboundTokenService implements OnApplicationShutdown {
  private readonly backends = new Map<string, Backend>();
  private readonly closeHttp: () => void;

  /** Closes idle keep-alive connections to token endpoints (on application shutdown). */
  onApplicationShutdown(): void {
    // Interceptors attachOutboundToken() put on axios instances that may outlive this application.
    detachAll(this);
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
      let origins: string[] | undefined;
      if (b.origins !== undefined) {
        origins = [];
        for (const o of Array.isArray(b.origins) ? b.origins : [b.origins]) {
          const u = typeof o === 'string' && URL.canParse(o) ? new URL(o) : undefined;
          if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.pathname !== '/' || u.search || u.hash || u.username || u.password) {
            problems.push(`${where}.origins: '${String(o)}' is not an origin: write scheme, host and port only, e.g. 'https://orders.example.com'.`);
          } else origins.push(u.origin);
        }
        if (!origins.length) problems.push(`${where}.origins is empty: list the backend's origins, or leave it out.`);
      }
      const jwk = typeof b.privateKey === 'object' && b.privateKey && 'kty' in b.privateKey ? b.privateKey : undefined;
      // The backend's client, with everything else (timeouts, agents, limits) from the module.
      const derived: ResolvedOptions = {
        ...options,
        clientId: b.clientId,
        clientSecret: b.clientSecret,
        clientAuthMethod: method,
        privateKey: b.privateKey,
        privateKeyAlgorithm: b.privateKeyAlgorithm ?? jwk?.alg ?? 'RS256',
        privateKeyId: b.privateKeyId ?? jwk?.kid,
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
        origins,
        renewals: { byKey: new Map(), recent: [] },
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
   * The origins `backend`'s token may be sent to (its `origins` option, normalised), or `undefined` when not
   * configured (`attachOutboundToken()` then uses the axios instance's `baseURL`; `fetch()` refuses).
   */
  originsOf(backend: string): readonly string[] | undefined {
    return this.backend(backend).origins;
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
   * `fetch` with `Authorization: Bearer <our token for backend>` when `input` has one of the backend's `origins`
   * (a URL of another origin is fetched without the token, and its answer is returned as is; a backend without
   * `origins` rejects with `IntrospectionConfigurationError`). On a 401 (or a configured 403 `invalid_token`)
   * the token is dropped, a new one fetched once, and the request repeated once when that is safe (idempotent
   * method, replayable body); otherwise the refusal is returned.
   */
  async fetch(backend: string, input: string | URL, init: RequestInit = {}): Promise<Response> {
    const origins = this.backend(backend).origins;
    if (!origins) {
      throw new IntrospectionConfigurationError(
        `OutboundTokenService.fetch('${backend}'): set \`outbound.${backend}.origins\` to the backend's origins (e.g. ['https://orders.example.com']): ` +
          'the token is sent only to them.',
      );
    }
    const url = URL.canParse(String(input)) ? new URL(input) : undefined;
    if (!url || !origins.includes(url.origin)) return fetch(input, init); // not the backend: no token, no renewal
    const send = async (token: string) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const token = await this.getToken(backend);
    const first = await send(token);
    if (!this.isRefusal(backend, first.status, first.headers.get('www-authenticate'))) return first;
    const renewed = await this.renewAfterRefusal(backend, token, { status: first.status, method: init.method, body: init.body, url });
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
    return status === 403 && this.backend(backend).options.retryOn403InvalidToken === true && /error\s*=\s*"?invalid_token"?/i.test(wwwAuthenticate ?? '');
  }

  /**
   * After `backend` refused `token` (see `isRefusal`): drops the token — at most one renewal per request key
   * (method, origin and path of `url`; one shared key without `url`) every 5 s and at most 4 per backend every
   * 5 s, so requests a caller shapes to be refused cannot drain the token endpoint, and one path that always
   * answers 401 cannot use up the renewal the next IdP restart needs — and resolves to a
   * new token to repeat the request with **once**, when that is safe: an idempotent method (GET, HEAD,
   * OPTIONS, PUT, DELETE, TRACE; any with `retryNonIdempotent`) and a replayable body (none, a string,
   * `URLSearchParams`, bytes, a `Blob`). Resolves to `undefined` when the refusal should be returned as is.
   * Rejects with `AuthorizationServerUnavailableError` when no new token can be had. Shared by `fetch()`
   * and `attachOutboundToken()` (axios / `@nestjs/axios`).
   */
  async renewAfterRefusal(
    backend: string,
    token: string,
    request: { readonly status: number; readonly method?: string; readonly body?: unknown; readonly url?: string | URL },
  ): Promise<string | undefined> {
    const b = this.backend(backend);
    const tokenAgeMs = b.token.ageOf(token);
    const method = (request.method ?? 'GET').toUpperCase();
    // Renewals on refusals are rationed: requests a caller shapes (or a backend that refuses everything) must not
    // drain the token endpoint for every user — one per request key every 5 s, a few per backend. A path that
    // always refuses spends only its own key's renewal, so the first refusal after an IdP restart on any other
    // path still renews.
    const url = request.url === undefined ? undefined : URL.canParse(String(request.url)) ? new URL(request.url) : undefined;
    const key = `${method} ${url ? url.origin + url.pathname : ''}`;
    const now = Date.now();
    const { renewals } = b;
    const outcome = b.token.invalidateValue(token, 0, () => {
      renewals.recent = renewals.recent.filter((t) => now - t < REFUSAL_RENEWAL_INTERVAL_MS);
      return renewals.recent.length < REFUSAL_RENEWALS_PER_INTERVAL && now - (renewals.byKey.get(key) ?? -Infinity) >= REFUSAL_RENEWAL_INTERVAL_MS;
    });
    if (outcome === 'invalidated') {
      renewals.recent.push(now);
      renewals.byKey.delete(key);
      renewals.byKey.set(key, now);
      if (renewals.byKey.size > REFUSAL_KEYS_MAX) renewals.byKey.delete(renewals.byKey.keys().next().value!);
    }
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
