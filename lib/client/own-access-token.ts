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
    /** Told of every request to the token endpoint once it ends (metrics): its duration and, on failure, the error. */
    private readonly onRequest?: (elapsedMs: number, error?: AuthorizationServerUnavailableError) => void,
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

  /** Milliseconds since the current token was issued, if `value` is the current token. */
  ageOf(value: string): number | undefined {
    return this.current?.value === value ? Date.now() - this.current.issuedAt : undefined;
  }

  /**
   * Forgets `value` if it is still the current token and at least `minAgeMs` old. 'replaced': a newer token
   * is current already (use it); 'kept': too young to blame on age, or `allowed()` said no (the caller
   * rate-limits renewals on refusals).
   */
  invalidateValue(value: string, minAgeMs = 0, allowed: () => boolean = () => true): 'invalidated' | 'replaced' | 'kept' {
    const current = this.current;
    if (current?.value !== value) return 'replaced';
    if (Date.now() - current.issuedAt < minAgeMs || !allowed()) return 'kept';
    this.current = undefined;
    return 'invalidated';
  }

  private async fetch(tokenEndpoint: string, audience: string, signal?: AbortSignal): Promise<OwnToken> {
    if (!this.onRequest) return this.request(tokenEndpoint, audience, signal);
    const started = performance.now();
    try {
      const token = await this.request(tokenEndpoint, audience, signal);
      this.onRequest(performance.now() - started);
      return token;
    } catch (error) {
      this.onRequest(
        performance.now() - started,
        error instanceof AuthorizationServerUnavailableError
          ? error
          : new AuthorizationServerUnavailableError('connection_failed', this.options.resilience.retryAfterSeconds, 'The token request failed.', {
              cause: error,
            }),
      );
      throw error;
    }
  }

  private async request(tokenEndpoint: string, audience: string, signal?: AbortSignal): Promise<OwnToken> {
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
      throw new AuthorizationServerUnavailableError(
        'connection_failed',
        retryAfter,
        'The token endpoint could not be reached (fetching our own access token).',
        { cause },
      );
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
    // A token goes into an Authorization header: printable ASCII only (RFC 6750 b64token is stricter), and
    // never echoed back in an error. RFC 6749 §7.1: a token type we do not understand is not used as Bearer.
    const tokenType = (json as { token_type?: unknown }).token_type;
    if (!/^[\x21-\x7E]{1,16384}$/.test(json.access_token) || (tokenType !== undefined && String(tokenType).toLowerCase() !== 'bearer')) {
      throw new AuthorizationServerUnavailableError(
        'invalid_response',
        retryAfter,
        `The token endpoint answered an access token this API cannot use as a Bearer token (token_type ${JSON.stringify(String(tokenType ?? 'none')).slice(0, 40)}, or characters outside printable ASCII).`,
        { status: res.status },
      );
    }
    const now = Date.now();
    const expiresIn = json.expires_in;
    if (typeof expiresIn === 'number' && expiresIn <= 0) {
      // Already expired by the server's word: usable for this call, never cached.
      return { value: json.access_token, issuedAt: now, refreshAt: now, usableUntil: now };
    }
    const lifetimeMs = typeof expiresIn === 'number' && Number.isFinite(expiresIn) ? expiresIn * 1000 : 300_000;
    const { refreshAfterMs, usableForMs } = renewalPoint(lifetimeMs);
    const token = { value: json.access_token, issuedAt: now, refreshAt: now + refreshAfterMs, usableUntil: now + usableForMs };
    this.current = token;
    return token;
  }
}
