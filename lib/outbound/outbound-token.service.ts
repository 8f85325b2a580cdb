import type { OnApplicationShutdown } from '@nestjs/common';
import type { AxiosInstance } from 'axios';
import { closeAuthorizationServerHttp, createAuthorizationServerHttp } from '../client/introspection.client.js';
import { ClientAuthentication } from '../client/client-authentication.js';
import { OwnAccessToken } from '../client/own-access-token.js';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { OutboundBackendOptions } from './outbound-options.interface.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

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

  constructor(options: ResolvedOptions, backends: Readonly<Record<string, OutboundBackendOptions>> = {}) {
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
        token: new OwnAccessToken(derived, http, new ClientAuthentication(derived), resources.length ? { resource: resources } : {}),
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
    return (await b.resilience.execute(() => b.token.get(b.tokenEndpoint, b.assertionAudience), true)).value;
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
    const b = this.backend(backend);
    const send = async (token: string) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const token = await this.getToken(backend);
    const first = await send(token);
    if (!this.refused(b, first)) return first;
    // At most one renewal per backend every few seconds on refusals: requests a caller shapes (or a backend
    // that refuses everything) must not drain the token endpoint for every user. An IdP restart still costs
    // one failed call: the first refusal after it renews.
    const outcome = b.token.invalidateValue(token, 0, () => Date.now() - (renewedOnRefusal.get(b) ?? 0) >= REFUSAL_RENEWAL_INTERVAL_MS);
    if (outcome === 'kept') return first;
    if (outcome === 'invalidated') renewedOnRefusal.set(b, Date.now());
    const method = (init.method ?? 'GET').toUpperCase();
    const replayable = init.body == null || typeof init.body === 'string' || init.body instanceof URLSearchParams ||
      init.body instanceof ArrayBuffer || ArrayBuffer.isView(init.body) || init.body instanceof Blob;
    if (!replayable || !(IDEMPOTENT.has(method) || b.options.retryNonIdempotent)) return first;
    const renewed = await this.getToken(backend);
    await first.body?.cancel();
    // A renewed token that is refused too is kept: the refusal is not about its age.
    return send(renewed);
  }

  private refused(b: Backend, res: Response): boolean {
    if (res.status === 401) return true;
    return res.status === 403 && b.options.retryOn403InvalidToken === true &&
      /error\s*=\s*"?invalid_token"?/i.test(res.headers.get('www-authenticate') ?? '');
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
