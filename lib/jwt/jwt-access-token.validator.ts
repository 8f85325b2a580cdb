import type { JWTPayload } from 'jose';
import { jose, joseCode, loadJose } from '../utils/jose.js';
import { inactive, validateClaims, type IntrospectionResponse } from '../client/introspection-response.js';
import { AuthorizationServerUnavailableError, type InvalidTokenReason } from '../errors/introspection.errors.js';
import type { IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { PolicyRefusals } from '../telemetry/policy-refusals.js';
import { verifyWithKeys, type AuthorizationServerKeys } from '../keys/authorization-server-keys.js';

/** RFC 9068 §2.1 `typ` values of JWT access tokens (compared case-insensitively). */
const ACCESS_TOKEN_TYP = new Set(['at+jwt', 'application/at+jwt']);
/** Claims that must be strings when present (as RFC 7662 §2.2 wants them in the result). */
const STRING_CLAIMS = ['scope', 'client_id', 'sub', 'jti', 'username'] as const;

/**
 * Whether a bearer token is JWT-shaped: three dot-separated segments, the first starting `eyJ` (base64url of
 * `{"`, a JSON object). Only the path the token takes (local validation or introspection) depends on it; the
 * rest is jose's job. Cheap on purpose: it runs on every request, cache hits included.
 */
export function looksLikeJwt(token: string): boolean {
  if (!token.startsWith('eyJ')) return false;
  const first = token.indexOf('.', 3);
  if (first < 0) return false;
  const second = token.indexOf('.', first + 1);
  return second > first + 1 && token.indexOf('.', second + 1) < 0;
}

/**
 * Local validation of JWT access tokens, RFC 9068 §4: `typ` at+jwt, `iss` exactly the AS, `aud` containing
 * this API, a signature by the AS's keys with an algorithm from configuration, `exp`/`nbf` with leeway.
 * Resolves to the same result shape as introspection (RFC 7662 names + `scopes`); rejects only with
 * `AuthorizationServerUnavailableError` when the keys cannot be had (503, never 401).
 */
export class JwtAccessTokenValidator {
  private readonly algorithms: string[];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly keys: AuthorizationServerKeys,
  ) {
    this.algorithms = [...options.jwt.algorithms];
    this.refusals = new PolicyRefusals({ audience: options.audience, expectedIssuer: options.jwt.issuer });
  }
  private readonly refusals: PolicyRefusals;

  async validate(token: string): Promise<IntrospectionResult> {
    await loadJose();
    const jwt = this.options.jwt;
    // One token, one spelling: base64url has spare bits and optional padding, and eviction marks and the
    // verification cache are keyed by the token text — a re-spelled evicted token must not pass.
    if (!isCanonicalCompactJws(token)) return inactive('invalid_jwt');
    // An ID token (typ JWT) signed by the same keys is not an access token: refused before any key work.
    if (jwt.requireTyp && !ACCESS_TOKEN_TYP.has(String(typOf(token)).toLowerCase())) return inactive('not_access_token');
    let payload: JWTPayload;
    try {
      ({ payload } = await verifyWithKeys(token, this.keys.resolver(), {
        algorithms: this.algorithms,
        issuer: jwt.issuer,
        audience: this.options.audience as string[],
        clockTolerance: this.options.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof AuthorizationServerUnavailableError) throw error;
      if (joseCode(error) === undefined || joseCode(error) === 'ERR_JWK_INVALID') {
        // Not a verdict on the token: a key of the AS that cannot be imported (a half-written key set),
        // or another failure on our side. Answered like any trouble at the AS: 503, never 401.
        throw new AuthorizationServerUnavailableError(
          'invalid_response',
          this.options.resilience.retryAfterSeconds,
          `A key of the authorization server could not be used to verify the token (${(error as Error)?.name ?? 'error'}: ${String((error as Error)?.message ?? '').slice(0, 120)}).`,
          { cause: error },
        );
      }
      const reason = reasonOf(error);
      // The client only gets 401 "audience mismatch": the log says what the signed token carries.
      const payload = (error as { payload?: Record<string, unknown> }).payload;
      if (payload && (reason === 'audience_mismatch' || reason === 'issuer_mismatch'))
        this.refusals.report(token, reason, { ...payload, active: true }, undefined, false);
      return inactive(reason);
    }
    for (const claim of STRING_CLAIMS) {
      if (payload[claim] !== undefined && typeof payload[claim] !== 'string') return inactive('invalid_jwt');
    }
    const response = { ...payload, active: true } as IntrospectionResponse;
    // typ at+jwt already says "access token": no token_type needed; cnf, token_use and Keycloak's typ still count.
    return validateClaims(response, { ...this.options, requireTokenType: false, expectedIssuer: jwt.issuer }, Date.now() / 1000, jwt.issuer);
  }
}

/** Three segments, each unpadded base64url that re-encodes to exactly itself (RFC 7515 §2, RFC 4648 §3.5). */
export function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  return parts.every((part) => /^[A-Za-z0-9_-]*$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part);
}

function typOf(token: string): unknown {
  try {
    return jose().decodeProtectedHeader(token).typ;
  } catch {
    return undefined;
  }
}

/** Maps jose's verification errors to the precise reasons clients see in `error_description`. */
function reasonOf(error: unknown): InvalidTokenReason {
  const code = joseCode(error);
  if (code === 'ERR_JWT_EXPIRED') return 'expired';
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    switch ((error as { claim?: string }).claim) {
      case 'iss':
        return 'issuer_mismatch';
      case 'aud':
        return 'audience_mismatch';
      case 'nbf':
        return 'not_yet_valid';
      case 'iat':
        return 'issued_in_future';
      default:
        return 'invalid_jwt';
    }
  }
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
    return 'invalid_signature';
  }
  return 'invalid_jwt';
}
