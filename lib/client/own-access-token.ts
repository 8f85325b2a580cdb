import type { AxiosInstance } from 'axios';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ClientAuthentication } from './client-authentication.js';

interface OwnToken {
  readonly value: string;
  readonly issuedAt: number;
  /** When to start fetching a new one (epoch ms): before expiry, in the background. */
  readonly refreshAt: number;
  /** When it can no longer be used (epoch ms), with a small margin for the trip to the endpoint. */
  readonly usableUntil: number;
}

/**
 * When a token of `lifetimeMs` stops being used, and when its renewal starts. The unusable tail —
 * 1 s (authorization servers count `iat`/`exp` in whole seconds) plus 10 %, at most 5 s — keeps an
 * about-to-expire token off the wire; renewal starts 60 s before that, or at 80 % of the usable time
 * when the lifetime is short: a 1-hour token is renewed after ≈ 59 min, a 30 s one after ≈ 21 s,
 * a 5 s one after ≈ 2.8 s. Never "now", whatever the lifetime.
 */
export function renewalPoint(lifetimeMs: number): { refreshAfterMs: number; usableForMs: number } {
  const usableForMs = Math.max(lifetimeMs * 0.5, lifetimeMs - Math.min(5_000, 1_000 + lifetimeMs * 0.1));
  return { refreshAfterMs: Math.max(usableForMs * 0.8, usableForMs - 60_000), usableForMs };
}

/**
 * This API's own access token for `client_credentials_bearer`: obtained with the client-credentials
 * grant (RFC 6749 §4.4), reused until its renewal point (`renewalPoint`), then renewed in the
 * background while it is still used; one fetch at a time for all callers; dropped when the
 * introspection endpoint refuses it.
 */
export class OwnAccessToken {
  private current?: OwnToken;
  private inflight?: Promise<OwnToken>;
  /** After a failed background renewal, no new attempt before this (epoch ms). */
  private nextRenewalAttempt = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly http: AxiosInstance,
    private readonly auth: ClientAuthentication,
    /** More token-request parameters (e.g. RFC 8707 `resource`), for outbound backends. */
    private readonly extraParams: Readonly<Record<string, readonly string[]>> = {},
  ) {}

  async get(tokenEndpoint: string, audience: string): Promise<OwnToken> {
    const current = this.current;
    const now = Date.now();
    if (current && now < current.usableUntil) {
      if (now >= current.refreshAt && now >= this.nextRenewalAttempt && !this.inflight) {
        // Renew in the background; callers keep using the current token meanwhile.
        void this.renew(tokenEndpoint, audience).catch(() => {
          this.nextRenewalAttempt = Date.now() + Math.min(5_000, Math.max(100, (current.usableUntil - Date.now()) / 4));
        });
      }
      return current;
    }
    return this.renew(tokenEndpoint, audience);
  }

  /** One fetch at a time, shared by every caller. Bounded by the attempt timeout, not by one caller's deadline. */
  private renew(tokenEndpoint: string, audience: string): Promise<OwnToken> {
    this.inflight ??= this.fetch(tokenEndpoint, audience, AbortSignal.timeout(this.options.resilience.attemptTimeoutMs)).finally(
      () => (this.inflight = undefined),
    );
    return this.inflight;
  }

  /** Forgets `token` if it is still the current one (the endpoint refused it). */
  invalidate(token: OwnToken): void {
    if (this.current === token) this.current = undefined;
  }

  /** Forgets the token whose value is `value` if it is still the current one. */
  invalidateValue(value: string): void {
    if (this.current?.value === value) this.current = undefined;
  }

  private async fetch(tokenEndpoint: string, audience: string, signal?: AbortSignal): Promise<OwnToken> {
    const credentials = await this.auth.credentials(audience);
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...credentials.body });
    if (this.options.tokenScope) body.set('scope', this.options.tokenScope);
    for (const [name, values] of Object.entries(this.extraParams)) for (const v of values) body.append(name, v);
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
    const { refreshAfterMs, usableForMs } = renewalPoint(lifetimeMs);
    const token = { value: json.access_token, issuedAt: now, refreshAt: now + refreshAfterMs, usableUntil: now + usableForMs };
    this.current = token;
    return token;
  }
}
