import type { AxiosInstance } from 'axios';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ConfigurationGate } from './configuration-gate.js';

/** Where to send introspection requests, and whom to name as audience of client assertions. */
export interface ResolvedEndpoint {
  readonly introspectionEndpoint: URL;
  /** The authorization server's issuer identifier, when known. */
  readonly issuer?: string;
  /** The token endpoint (for `client_credentials_bearer`), when known. */
  readonly tokenEndpoint?: string;
  /** The authorization server's JWK Set (`jwt.jwksUri`, or `jwks_uri` from the metadata), when known. */
  readonly jwksUri?: URL;
}

/**
 * Resolves the introspection endpoint: the configured one, or discovered from the issuer
 * (RFC 8414 first, then OpenID Connect Discovery). A failure is not remembered here: an outage is retried by
 * the next lookup, a configuration mistake (`discovery_misconfigured`) at the slow pace of the client's
 * `ConfigurationGate`. A success is reused for `discoveryCacheSeconds`; if a refresh fails, the last good
 * endpoint keeps being used.
 */
export class EndpointResolver {
  private current?: { value: ResolvedEndpoint; refreshAt: number };
  private inflight?: Promise<ResolvedEndpoint>;
  private readonly fixed?: ResolvedEndpoint;

  /**
   * @param configuration where a discovery mistake (`discovery_misconfigured`) is held: every path that needs the
   *   endpoints (introspection, the key fetch of JWT validation, push receivers) then waits for the same slow trial.
   */
  constructor(
    private readonly options: ResolvedOptions,
    private readonly http: AxiosInstance,
    private readonly configuration?: ConfigurationGate,
  ) {
    if (options.introspectionEndpoint) {
      this.fixed = {
        introspectionEndpoint: options.introspectionEndpoint,
        // Known only when configured: `expectedIssuer` is a rule to check, not a statement about this endpoint.
        issuer: options.issuer,
        tokenEndpoint: options.tokenEndpoint,
        jwksUri: options.keys?.jwksUri,
      };
    }
  }

  /** The endpoint if it is known without a network call (explicit, or discovered and still fresh). */
  known(): ResolvedEndpoint | undefined {
    return this.fixed ?? this.current?.value;
  }

  async resolve(signal?: AbortSignal): Promise<ResolvedEndpoint> {
    if (this.fixed) return this.fixed;
    const current = this.current;
    if (current && Date.now() < current.refreshAt) return current.value;
    if (!current && !this.inflight) this.configuration?.refuseWhileHeld('discovery_misconfigured');
    this.inflight ??= this.discover(signal)
      .then(
        (value) => {
          this.current = { value, refreshAt: Date.now() + this.options.discoveryCacheMs };
          return value;
        },
        (error: unknown) => {
          if (current) {
            // Keep serving the last good endpoint; try again in a minute.
            this.current = { value: current.value, refreshAt: Date.now() + 60_000 };
            return current.value;
          }
          if (error instanceof AuthorizationServerUnavailableError && error.reason === 'discovery_misconfigured') this.configuration?.failed(error);
          throw error;
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async discover(signal?: AbortSignal): Promise<ResolvedEndpoint> {
    const issuer = this.options.issuer!;
    const failures: string[] = [];
    // An answer that says the AS is in trouble (5xx, 429) makes the failure an outage; otherwise it is configuration.
    let outage = false;
    for (const url of discoveryUrls(issuer)) {
      let res;
      try {
        res = await this.http.get<string>(url, { signal, headers: { accept: 'application/json' } });
      } catch (cause) {
        throw new AuthorizationServerUnavailableError(
          'discovery_failed',
          this.options.resilience.retryAfterSeconds,
          `Discovery of the introspection endpoint failed: ${url} did not answer (${describe(cause)}).`,
          { cause },
        );
      }
      if (res.status === 404 || res.status === 400) {
        failures.push(`${url} answered ${res.status}`);
        continue;
      }
      if (res.status >= 500 || res.status === 429) {
        outage = true;
        failures.push(`${url} answered ${res.status}`);
        continue;
      }
      let doc: Record<string, unknown> | undefined;
      try {
        doc = res.status === 200 ? JSON.parse(res.data) : undefined;
      } catch {
        doc = undefined;
      }
      if (!doc || typeof doc !== 'object') {
        failures.push(`${url} answered ${res.status} without a JSON metadata document`);
        continue;
      }
      // RFC 8414 §3.3 / OpenID Connect Discovery §4.3: the metadata must name exactly the issuer we asked for.
      if (typeof doc.issuer !== 'string') {
        failures.push(`${url} has no "issuer" (RFC 8414 §3.3 requires it)`);
        continue;
      }
      if (doc.issuer !== issuer) {
        failures.push(
          `${url} describes issuer '${doc.issuer}', not '${issuer}' (they must be identical: set \`issuer\` exactly as the metadata says, if that server is yours)`,
        );
        continue;
      }
      const parsed = this.endpointUrl(doc.introspection_endpoint, 'introspection_endpoint', url, failures);
      if (!parsed) continue;
      // The token endpoint receives our client credentials (client_credentials_bearer): same https rule.
      let tokenEndpoint = this.options.tokenEndpoint;
      if (!tokenEndpoint && this.options.clientAuthMethod === 'client_credentials_bearer') {
        const listed = this.endpointUrl(doc.token_endpoint, 'token_endpoint', url, failures);
        if (!listed) continue;
        tokenEndpoint = listed.href;
      }
      // Optional here: only JWT validation and RFC 9701 need it, and they say so when it is missing.
      const jwksUri = this.options.keys?.jwksUri ?? (doc.jwks_uri === undefined ? undefined : this.endpointUrl(doc.jwks_uri, 'jwks_uri', url, []));
      return { introspectionEndpoint: parsed, issuer: doc.issuer, tokenEndpoint, jwksUri };
    }
    throw new AuthorizationServerUnavailableError(
      outage ? 'discovery_failed' : 'discovery_misconfigured',
      this.options.resilience.retryAfterSeconds,
      `Discovery of the introspection endpoint failed: ${failures.join('; ')}. ` +
        (outage
          ? 'The authorization server is in trouble; discovery is retried.'
          : 'Check `issuer`: it must be exactly the issuer the metadata names (a trailing slash counts; a realm or tenant path must exist) — or set `introspectionEndpoint` explicitly.'),
    );
  }

  /** An endpoint the metadata lists, if it is an absolute URL that obeys `allowInsecureRequests`. */
  private endpointUrl(value: unknown, name: string, source: string, failures: string[]): URL | undefined {
    if (typeof value !== 'string') {
      failures.push(`${source} lists no ${name}${name === 'introspection_endpoint' ? ' (is introspection enabled at the authorization server?)' : ''}`);
      return undefined;
    }
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      failures.push(`${source} lists an invalid ${name}`);
      return undefined;
    }
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && this.options.allowInsecureRequests)) {
      failures.push(
        `${source} lists a non-https ${name} (${parsed.origin}): credentials and tokens would travel in clear text; set allowInsecureRequests only for development`,
      );
      return undefined;
    }
    return parsed;
  }
}

/** RFC 8414 §3.1 inserts the well-known segment before the issuer's path; OIDC Discovery appends it. */
export function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = stripSlash(url.pathname);
  return [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
}

function stripSlash(s: string): string {
  return s.endsWith('/') ? s.slice(0, -1) : s;
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(error);
}
