import type { AxiosInstance } from 'axios';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ClientAuthentication } from './client-authentication.js';

interface OwnToken {
  readonly value: string;
  readonly issuedAt: number;
  /** When to fetch a new one (epoch ms): shortly before expiry. */
  readonly refreshAt: number;
}

/**
 * This API's own access token for `client_credentials_bearer`: obtained with the client-credentials
 * grant (RFC 6749 §4.4), reused until shortly before it expires, fetched once for concurrent callers,
 * and dropped when the introspection endpoint refuses it.
 */
export class OwnAccessToken {
  private current?: OwnToken;
  private inflight?: Promise<OwnToken>;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly http: AxiosInstance,
    private readonly auth: ClientAuthentication,
  ) {}

  async get(tokenEndpoint: string, audience: string, signal?: AbortSignal): Promise<OwnToken> {
    const current = this.current;
    if (current && Date.now() < current.refreshAt) return current;
    this.inflight ??= this.fetch(tokenEndpoint, audience, signal).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Forgets `token` if it is still the current one (the endpoint refused it). */
  invalidate(token: OwnToken): void {
    if (this.current === token) this.current = undefined;
  }

  private async fetch(tokenEndpoint: string, audience: string, signal?: AbortSignal): Promise<OwnToken> {
    const credentials = await this.auth.credentials(audience);
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...credentials.body });
    if (this.options.tokenScope) body.set('scope', this.options.tokenScope);
    const retryAfter = this.options.resilience.retryAfterSeconds;
    let res;
    try {
      res = await this.http.post<string>(tokenEndpoint, body.toString(), {
        signal,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...credentials.headers },
      });
    } catch (cause) {
      throw new AuthorizationServerUnavailableError('connection_failed', retryAfter, 'The token endpoint could not be reached (fetching our own access token).', { cause });
    }
    let json: { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    try {
      json = JSON.parse(res.data);
    } catch {
      json = undefined;
    }
    if (res.status !== 200 || typeof json?.access_token !== 'string') {
      const error = typeof json?.error === 'string' ? json.error : `HTTP ${res.status}`;
      const reason = res.status >= 500 ? 'server_error' : res.status === 429 ? 'rate_limited' : 'client_authentication_failed';
      throw new AuthorizationServerUnavailableError(
        reason,
        retryAfter,
        `The token endpoint refused to issue our own access token (${error}). Check \`clientId\`, the secret or key, ` +
          'and that the client may use the client-credentials grant.',
        { status: res.status },
      );
    }
    const now = Date.now();
    const lifetimeMs = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in * 1000 : 300_000;
    // Renew before expiry: 60 s early, or at 90 % of a short lifetime.
    const refreshAt = now + Math.max(Math.min(lifetimeMs - 60_000, lifetimeMs * 0.9), 0);
    const token = { value: json.access_token, issuedAt: now, refreshAt };
    this.current = token;
    return token;
  }
}
