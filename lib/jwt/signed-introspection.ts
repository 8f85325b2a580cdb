import { joseCode } from '../utils/jose.js';
import { parseIntrospectionResponse, type IntrospectionResponse } from '../client/introspection-response.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ResponseOpener } from '../client/introspection.client.js';
import { verifyWithKeys, type AuthorizationServerKeys } from '../keys/authorization-server-keys.js';

/** RFC 9701 §4 media type of a signed introspection response. */
export const SIGNED_INTROSPECTION_TYPE = 'application/token-introspection+jwt';

/**
 * Opens an RFC 9701 signed introspection response: `typ` token-introspection+jwt, `iss` the authorization
 * server, `aud` our client id, `iat` at most `maxAgeSeconds` old, a signature with the AS's keys and an
 * algorithm from configuration. Anything else is the authorization server misbehaving (or someone forging
 * its answers): `AuthorizationServerUnavailableError` (`invalid_response`, 503), never a pass.
 */
export class SignedIntrospectionOpener implements ResponseOpener {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly settings: Exclude<ResolvedOptions['signedIntrospection'], false>,
    private readonly keys: AuthorizationServerKeys,
  ) {}

  /** The `Accept` header of introspection requests. */
  get accept(): string {
    return this.settings.mode === 'require' ? SIGNED_INTROSPECTION_TYPE : `${SIGNED_INTROSPECTION_TYPE}, application/json;q=0.5`;
  }

  /**
   * The RFC 7662 response inside a 200 answer. `'prefer'` takes plain JSON as it is (the server chose not to
   * sign, e.g. oidc-provider for a client without `introspection_signed_response_alg`); `'require'` does not.
   * Runs inside the resilience policy already: keys are fetched directly (own timeout), not through it again.
   */
  async open(body: string, contentType: string | undefined): Promise<IntrospectionResponse> {
    const retryAfter = this.options.resilience.retryAfterSeconds;
    const signed = typeof contentType === 'string' && contentType.toLowerCase().startsWith(SIGNED_INTROSPECTION_TYPE);
    if (!signed) {
      if (this.settings.mode === 'prefer') return parseIntrospectionResponse(body, contentType, retryAfter);
      throw this.invalid(`content type '${contentType ?? 'none'}' where a signed response (${SIGNED_INTROSPECTION_TYPE}) is required`);
    }
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await verifyWithKeys(body.trim(), this.keys.resolver({}), {
        algorithms: [...this.settings.algorithms],
        typ: 'token-introspection+jwt',
        issuer: this.settings.issuer,
        audience: this.options.clientId,
        maxTokenAge: this.settings.maxAgeSeconds,
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ['iat'],
      }));
    } catch (error) {
      if (error instanceof AuthorizationServerUnavailableError) throw error;
      throw Object.assign(this.invalid(`a signed response that does not verify (${describe(error)})`), { cause: error });
    }
    const inner = claims.token_introspection;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) throw this.invalid('a signed response without a "token_introspection" object');
    // RFC 7662 makes `iss` optional in the answer; the signed response's verified `iss` speaks for it.
    const response = { iss: claims.iss, ...(inner as Record<string, unknown>) };
    return parseIntrospectionResponse(JSON.stringify(response), 'application/json', retryAfter);
  }

  private invalid(what: string): AuthorizationServerUnavailableError {
    return new AuthorizationServerUnavailableError(
      'invalid_response',
      this.options.resilience.retryAfterSeconds,
      `The introspection endpoint answered 200 with ${what} (RFC 9701, \`signedIntrospection.mode: '${this.settings.mode}'\`).`,
      { status: 200 },
    );
  }
}

function describe(error: unknown): string {
  const code = joseCode(error);
  if (code) return `${code}: ${(error as Error).message}`;
  return (error as Error)?.message ?? String(error);
}
