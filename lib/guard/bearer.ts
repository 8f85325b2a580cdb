/**
 * RFC 6750 §2.1: `Authorization: Bearer <b64token>`, scheme case-insensitive, one or more spaces,
 * b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
 */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
/** RFC 9449 §7.1: `Authorization: DPoP <token68>`, the same syntax under the DPoP scheme. */
const DPOP = /^dpop +([A-Za-z0-9\-._~+/]+=*)$/i;
/** A b64token alone: the common `Bearer <token>` (one space, canonical case) is checked without a match array. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * What the Authorization header held. `other_scheme`: credentials of another scheme (`Basic …`) —
 * RFC 6750 §3.1 answers it like a missing token: 401 with a bare `Bearer` challenge, no error code.
 */
export type BearerExtraction =
  | { readonly kind: 'token'; readonly token: string; readonly scheme?: 'bearer' | 'dpop' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed'; readonly description: string }
  | { readonly kind: 'other_scheme' };

const MISSING: BearerExtraction = { kind: 'missing' };
const OTHER_SCHEME: BearerExtraction = { kind: 'other_scheme' };
/** An RFC 9110 §11.1 auth-scheme (a token), then whitespace or the end. */
const SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:[ \t]|$)/;

/**
 * Parses an Authorization header value strictly; nothing malformed ever reaches the authorization server.
 * With `acceptDpop`, `DPoP <token>` (RFC 9449 §7.1) is a token too, marked `scheme: 'dpop'`.
 */
export function extractBearer(header: unknown, maxTokenLength: number, acceptDpop = false): BearerExtraction {
  if (header === undefined || header === null || header === '') return MISSING;
  if (typeof header !== 'string') {
    return { kind: 'malformed', description: 'Send exactly one Authorization header.' };
  }
  if (header.length > maxTokenLength + 16) {
    return { kind: 'malformed', description: `The bearer token is longer than ${maxTokenLength} characters.` };
  }
  // The common form first: `Bearer ` then a b64token, exactly what BEARER accepts when the scheme is written so
  // and followed by one space (anything else takes the general path below, which answers the same).
  if (header.startsWith('Bearer ') && header.charCodeAt(7) !== 32) {
    const token = header.slice(7);
    if (B64TOKEN.test(token) && token.length <= maxTokenLength) return { kind: 'token', token };
  }
  // `(c | 0x20) === 0x64`: 'd' or 'D' — the DPoP test only for headers that can be one.
  if (acceptDpop && (header.charCodeAt(0) | 0x20) === 0x64 && /^dpop(\s|$)/i.test(header)) {
    const dpop = DPOP.exec(header);
    if (!dpop) return { kind: 'malformed', description: 'The Authorization header must hold exactly one DPoP-bound token: Authorization: DPoP <token>.' };
    if (dpop[1].length > maxTokenLength) return { kind: 'malformed', description: `The access token is longer than ${maxTokenLength} characters.` };
    return { kind: 'token', token: dpop[1], scheme: 'dpop' };
  }
  const match = BEARER.exec(header);
  if (!match) {
    if (!/^bearer(\s|$)/i.test(header)) {
      if (SCHEME.test(header)) return OTHER_SCHEME;
      return { kind: 'malformed', description: 'The Authorization header must use the Bearer scheme: Authorization: Bearer <token>.' };
    }
    return {
      kind: 'malformed',
      description: 'The Authorization header must hold exactly one bearer token made of RFC 6750 b64token characters.',
    };
  }
  if (match[1].length > maxTokenLength) {
    return { kind: 'malformed', description: `The bearer token is longer than ${maxTokenLength} characters.` };
  }
  return { kind: 'token', token: match[1] };
}

/**
 * Parameters of a challenge: RFC 6750 §3 (`realm`, `error`, `error_description`, `scope`), RFC 9470 §3 step-up
 * (`acr_values`, `max_age`) and RFC 9728 §5.1 (`resource_metadata`, the metadata URL).
 */
export interface ChallengeParams {
  realm?: string;
  error?: string;
  description?: string;
  scope?: string;
  acrValues?: string;
  maxAge?: number;
  resourceMetadata?: string;
}

/** Builds an RFC 6750 §3 `WWW-Authenticate` challenge; values are restricted to the RFC's safe characters. */
export function bearerChallenge(params: ChallengeParams): string {
  return challenge('Bearer', params);
}

/**
 * A `DPoP` challenge (RFC 9449 §7.1): `algs` lists the proof algorithms accepted, then the RFC 6750
 * parameters (`invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`, `insufficient_scope`).
 */
export function dpopChallenge(params: ChallengeParams & { algs: readonly string[] }): string {
  return challenge('DPoP', params, `algs="${safe(params.algs.join(' '))}"`);
}

function challenge(scheme: string, params: ChallengeParams, first?: string): string {
  const parts: string[] = [];
  if (first) parts.push(first);
  if (params.realm !== undefined) parts.push(`realm="${params.realm}"`);
  if (params.error) parts.push(`error="${params.error}"`);
  if (params.description) parts.push(`error_description="${safe(params.description)}"`);
  if (params.scope) parts.push(`scope="${safe(params.scope)}"`);
  if (params.acrValues) parts.push(`acr_values="${safe(params.acrValues)}"`);
  if (params.maxAge !== undefined && Number.isInteger(params.maxAge) && params.maxAge >= 0) parts.push(`max_age="${params.maxAge}"`);
  if (params.resourceMetadata) parts.push(`resource_metadata="${safe(params.resourceMetadata)}"`);
  return parts.length ? `${scheme} ${parts.join(', ')}` : scheme;
}

function safe(value: string): string {
  // error_description and scope: %x20-21 / %x23-5B / %x5D-7E — drop anything else.
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '');
}

/** Appends `resource_metadata="<url>"` (RFC 9728 §5.1) to a `Bearer` / `DPoP` challenge. */
export function withResourceMetadata(challenge: string, metadataUrl: string): string {
  if (challenge.includes('resource_metadata=')) return challenge;
  const param = `resource_metadata="${metadataUrl.replace(/["\\]/g, '')}"`;
  return challenge.includes(' ') ? `${challenge}, ${param}` : `${challenge} ${param}`;
}

/**
 * The Authorization header of a request (RFC 6750 §2.1; the `DPoP` scheme when `acceptDpop`), refused when it is
 * sent more than once: Node keeps only the first of several, a proxy may keep the last.
 */
export function extractAuthorization(request: any, maxTokenLength: number, acceptDpop: boolean): BearerExtraction {
  // Node keeps only the first of several Authorization headers; a proxy may keep the last. Refuse the ambiguity.
  const raw: unknown = request.rawHeaders ?? request.raw?.rawHeaders;
  if (Array.isArray(raw)) {
    let count = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const name: unknown = raw[i];
      // Lower-cased (a new string) only for the rare spelling that is neither of the two usual ones.
      if (typeof name === 'string' && name.length === 13 && (name === 'Authorization' || name === 'authorization' || name.toLowerCase() === 'authorization'))
        count++;
    }
    if (count > 1) return { kind: 'malformed', description: 'Send exactly one Authorization header.' };
  }
  return extractBearer(request.headers?.authorization, maxTokenLength, acceptDpop);
}
