import { AuthorizationServerUnavailableError, type InvalidTokenReason } from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult, IntrospectionResult, TokenPresentation } from '../interfaces/introspection-result.interface.js';

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
export function parseIntrospectionResponse(body: string, contentType: string | undefined, retryAfterSeconds: number): IntrospectionResponse {
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
  /** Accept only results whose `token_type` names an access token (a missing `token_type` is refused). */
  readonly requireTokenType?: boolean;
  /** With `tenants`: the tenant whose authorization server answered, recorded on active results (`introspectionTenant`). */
  readonly tenant?: string;
}

/** `token_type` values that name an access token (compared case-insensitively). */
const ACCESS_TOKEN_TYPES = new Set(['bearer', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']);
/** `token_type` values of sender-constrained access tokens (RFC 9449 §6.2): usable only with a proof of possession. */
const BOUND_TOKEN_TYPES = new Set(['dpop']);
const BOUND_TOKEN_TYPE_LENGTHS = new Set([...BOUND_TOKEN_TYPES].map((type) => type.length));
/** Keycloak's `typ` of access tokens; any other `typ` it sends (Refresh, Offline, ID, Logout) is not one. */
const KEYCLOAK_ACCESS_TYP = new Set(['bearer']);

/**
 * What kind of token the answer describes: an access token this API may take as a bearer token, a
 * token of another kind (refresh, ID, ...), or a sender-constrained one (RFC 9449 / RFC 8705 `cnf`),
 * which a bare `Authorization: Bearer` can never satisfy.
 */
export function tokenKind(response: IntrospectionResponse, requireTokenType = false): 'access' | 'not_access_token' | 'sender_constrained' {
  if (response.cnf !== undefined) return 'sender_constrained';
  const type = typeof response.token_type === 'string' ? response.token_type.toLowerCase() : undefined;
  if (type !== undefined && BOUND_TOKEN_TYPES.has(type)) return 'sender_constrained';
  if (type !== undefined && !ACCESS_TOKEN_TYPES.has(type)) return 'not_access_token';
  if (type === undefined && requireTokenType) return 'not_access_token';
  // Ory Hydra: token_use; Keycloak: typ.
  if (response.token_use !== undefined && response.token_use !== 'access_token') return 'not_access_token';
  if (typeof response.typ === 'string' && !KEYCLOAK_ACCESS_TYP.has(response.typ.toLowerCase())) return 'not_access_token';
  return 'access';
}

/**
 * Applies this API's own rules to a wire-valid response: token kind, time claims with leeway,
 * audience, issuer. Returns the result users see: RFC field names untouched, `scopes` derived beside them.
 *
 * @param answeringIssuer the issuer of the authorization server that answered, when known (the
 *   `issuer` option or discovery). RFC 7662 makes `iss` optional: an answer without it speaks for that issuer.
 */
export function validateClaims(response: IntrospectionResponse, policy: ClaimPolicy, nowSeconds: number, answeringIssuer?: string): IntrospectionResult {
  if (response.active !== true) return inactive(TOKEN_REJECTED in response ? 'rejected_by_authorization_server' : 'inactive');
  // A sender-constrained token is valid here; whether *this request* proves possession is checked on every
  // request after the cache (`checkBinding`), so a bound token presented without proof never poisons the cache.
  const kind = tokenKind(response, policy.requireTokenType);
  if (kind === 'not_access_token') return inactive(kind);
  const skew = policy.clockSkewSeconds;
  const { exp, nbf, iat, aud, iss } = response as { exp?: number; nbf?: number; iat?: number; aud?: string | string[]; iss?: string };
  if (exp !== undefined && exp + skew <= nowSeconds) return inactive('expired');
  if (nbf !== undefined && nbf - skew > nowSeconds) return inactive('not_yet_valid');
  if (iat !== undefined && iat - skew > nowSeconds) return inactive('issued_in_future');
  if (policy.audience) {
    const audiences = aud === undefined ? [] : typeof aud === 'string' ? [aud] : aud;
    if (!audiences.some((a) => policy.audience!.includes(a))) return inactive('audience_mismatch');
  }
  if (policy.expectedIssuer !== undefined && (iss ?? answeringIssuer) !== policy.expectedIssuer) return inactive('issuer_mismatch');
  const scope = response.scope as string | undefined;
  const scopes = Object.freeze(scope ? scope.split(' ').filter(Boolean) : []);
  // `introspectionTenant` is this library's: an authorization server's claim of that name never passes (undefined without tenants).
  return Object.freeze({ ...response, active: true, scopes, introspectionTenant: policy.tenant });
}

/** Whether a `token_type` says the token is sender-constrained (RFC 9449 §6.2: `DPoP`, any case); no string is built for others. */
export function isBoundTokenType(type: unknown): boolean {
  return typeof type === 'string' && BOUND_TOKEN_TYPE_LENGTHS.has(type.length) && BOUND_TOKEN_TYPES.has(type.toLowerCase());
}

/**
 * RFC 9449 §7.1 and RFC 8705 §3: a bound token is accepted only with the proof its `cnf` asks for, and a
 * token presented under the DPoP scheme must be DPoP-bound to the proof's key. Undefined: accepted.
 */
export function checkBinding(result: ActiveIntrospectionResult, presentation: TokenPresentation | undefined): InvalidTokenReason | undefined {
  const cnf = result.cnf as { jkt?: unknown; 'x5t#S256'?: unknown } | null | undefined;
  if (cnf !== undefined && (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf))) return 'sender_constrained';
  const jkt = cnf?.jkt;
  const x5t = cnf?.['x5t#S256'];
  const boundToDpop = jkt !== undefined || isBoundTokenType(result.token_type);
  const boundToCertificate = x5t !== undefined;
  // A confirmation method this API cannot check (e.g. an empty cnf, or cnf.jwk): never as a bearer token.
  if (cnf !== undefined && !boundToDpop && !boundToCertificate) return 'sender_constrained';
  if (presentation?.scheme === 'dpop') {
    if (typeof jkt !== 'string') return 'not_dpop_bound';
    if (jkt !== presentation.dpopJkt) return 'dpop_key_mismatch';
  } else if (boundToDpop) {
    return 'sender_constrained';
  }
  if (boundToCertificate && (typeof x5t !== 'string' || x5t !== presentation?.certificateThumbprint)) return 'certificate_mismatch';
  return undefined;
}

const INACTIVE = new Map<InvalidTokenReason, IntrospectionResult>();
/** Inactive results are immutable singletons: nothing to allocate per rejected token. */
export function inactive(reason: InvalidTokenReason): IntrospectionResult {
  let result = INACTIVE.get(reason);
  if (!result) INACTIVE.set(reason, (result = Object.freeze({ active: false as const, reason })));
  return result;
}
