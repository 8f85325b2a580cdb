import {
  AuthorizationServerUnavailableError,
  type InvalidTokenReason,
} from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult, IntrospectionResult } from '../interfaces/introspection-result.interface.js';

/** RFC 7662 §2.2 claims that must be strings when present. */
const STRING_CLAIMS = ['scope', 'client_id', 'username', 'token_type', 'sub', 'iss', 'jti'] as const;
/** RFC 7662 §2.2 claims that must be NumericDates when present. */
const TIME_CLAIMS = ['exp', 'iat', 'nbf'] as const;

/** A wire-valid RFC 7662 response: a JSON object whose `active` is a boolean. */
export type IntrospectionResponse = { active: boolean } & Record<string, unknown>;

/**
 * Marks the `{ active: false }` verdict the client makes of an HTTP 4xx about the token itself
 * (`invalid_request`, `invalid_token`, `unsupported_token_type`); the value describes the answer.
 * A symbol: nothing an authorization server sends can set it.
 */
export const TOKEN_REJECTED: unique symbol = Symbol('token-introspection:rejected-by-authorization-server');

/**
 * Parses an introspection response body strictly (RFC 7662 §2.2). Anything that is not a JSON object
 * with a boolean `active` and well-typed standard claims is the authorization server misbehaving:
 * it is reported as "unavailable", never as "token invalid" and never as "token active".
 */
export function parseIntrospectionResponse(
  body: string,
  contentType: string | undefined,
  retryAfterSeconds: number,
): IntrospectionResponse {
  const fail = (what: string) =>
    new AuthorizationServerUnavailableError(
      'invalid_response',
      retryAfterSeconds,
      `The introspection endpoint answered 200 with ${what}, not an RFC 7662 JSON response.`,
      { status: 200 },
    );
  if (!contentType || !/^application\/([\w.+-]+\+)?json\b/i.test(contentType)) {
    throw fail(`content type '${contentType ?? 'none'}'`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw Object.assign(fail('a body that is not valid JSON'), { cause });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail('a JSON value that is not an object');
  const response = json as Record<string, unknown>;
  if (typeof response.active !== 'boolean') {
    throw fail(`"active": ${JSON.stringify(response.active)} (it must be the boolean true or false)`);
  }
  if (response.active) {
    for (const claim of STRING_CLAIMS) {
      if (response[claim] !== undefined && typeof response[claim] !== 'string') throw fail(`a non-string "${claim}"`);
    }
    for (const claim of TIME_CLAIMS) {
      if (response[claim] !== undefined && !(typeof response[claim] === 'number' && Number.isFinite(response[claim]))) {
        throw fail(`a non-numeric "${claim}"`);
      }
    }
    const aud = response.aud;
    if (aud !== undefined && typeof aud !== 'string' && !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))) {
      throw fail('an "aud" that is neither a string nor a list of strings');
    }
  }
  return response as IntrospectionResponse;
}

/** What the local checks need. */
export interface ClaimPolicy {
  readonly clockSkewSeconds: number;
  readonly audience?: readonly string[];
  readonly expectedIssuer?: string;
}

/**
 * Applies this API's own rules to a wire-valid response: time claims with leeway, audience, issuer.
 * Returns the result users see: RFC field names untouched, `scopes` derived beside them.
 */
export function validateClaims(response: IntrospectionResponse, policy: ClaimPolicy, nowSeconds: number): IntrospectionResult {
  if (response.active !== true) return inactive(TOKEN_REJECTED in response ? 'rejected_by_authorization_server' : 'inactive');
  const skew = policy.clockSkewSeconds;
  const { exp, nbf, iat, aud, iss } = response as { exp?: number; nbf?: number; iat?: number; aud?: string | string[]; iss?: string };
  if (exp !== undefined && exp + skew <= nowSeconds) return inactive('expired');
  if (nbf !== undefined && nbf - skew > nowSeconds) return inactive('not_yet_valid');
  if (iat !== undefined && iat - skew > nowSeconds) return inactive('issued_in_future');
  if (policy.audience) {
    const audiences = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
    if (!audiences.some((a) => policy.audience!.includes(a))) return inactive('audience_mismatch');
  }
  if (policy.expectedIssuer !== undefined && iss !== policy.expectedIssuer) return inactive('issuer_mismatch');
  const scope = response.scope as string | undefined;
  const scopes = Object.freeze(scope ? scope.split(' ').filter(Boolean) : []);
  return Object.freeze({ ...response, active: true, scopes }) as ActiveIntrospectionResult;
}

const INACTIVE = new Map<InvalidTokenReason, IntrospectionResult>();
/** Inactive results are immutable singletons: nothing to allocate per rejected token. */
export function inactive(reason: InvalidTokenReason): IntrospectionResult {
  let result = INACTIVE.get(reason);
  if (!result) INACTIVE.set(reason, (result = Object.freeze({ active: false as const, reason })));
  return result;
}
