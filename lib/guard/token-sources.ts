import type { ResolvedTokenSource } from '../options/resolve-token-sources.js';
import { extractBearer, type BearerExtraction } from './bearer.js';

/** RFC 6750 §2.1 b64token: what a raw token (cookie, custom header, query, message) must look like. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MISSING: BearerExtraction = { kind: 'missing' };

/** A function from a request (HTTP or WebSocket upgrade) to its token, per the configured sources. */
export type TokenExtractor = (request: any) => BearerExtraction;

/** What one source found: nothing, something (a token or a malformed value), or another Authorization scheme. */
type Found = { kind: 'absent' } | { kind: 'other_scheme' } | { kind: 'present'; extraction: BearerExtraction; label: string };
const ABSENT: Found = { kind: 'absent' };

/**
 * Builds the extractor of an ordered list of sources. Every source is looked at: a request that carries a token
 * in more than one place is `invalid_request` (RFC 6750 §2), whatever the values — a cookie the browser adds on
 * its own must not silently win over, or lose to, the header the client meant.
 */
export function compileTokenSources(sources: readonly ResolvedTokenSource[], maxTokenLength: number, acceptDpop: boolean): TokenExtractor {
  const readers = sources.map((source) => reader(source, maxTokenLength, acceptDpop));
  return (request) => {
    let found: (Found & { kind: 'present' }) | undefined;
    let otherScheme = false;
    for (const read of readers) {
      const one = read(request);
      if (one.kind === 'absent') continue;
      if (one.kind === 'other_scheme') {
        otherScheme = true;
        continue;
      }
      if (found) {
        return { kind: 'malformed', description: `Send the access token in exactly one place, not in both the ${found.label} and the ${one.label}.` };
      }
      found = one;
    }
    if (found) return found.extraction;
    return otherScheme ? { kind: 'other_scheme' } : MISSING;
  };
}

function reader(source: ResolvedTokenSource, maxTokenLength: number, acceptDpop: boolean): (request: any) => Found {
  switch (source.in) {
    case 'authorization':
      return (request) => {
        const extraction = extractAuthorization(request, maxTokenLength, acceptDpop);
        if (extraction.kind === 'missing') return ABSENT;
        if (extraction.kind === 'other_scheme') return { kind: 'other_scheme' };
        return { kind: 'present', extraction, label: 'Authorization header' };
      };
    case 'header': {
      const label = `${source.name} header`;
      return (request) => {
        const value: unknown = request.headers?.[source.name];
        if (value === undefined) return ABSENT;
        // Node joins repeated custom headers with ", " (a proxy may keep only one): refuse the ambiguity.
        if (countRawHeaders(request, source.name) > 1) return present({ kind: 'malformed', description: `Send exactly one ${source.name} header.` }, label);
        return present(rawToken(value, label, maxTokenLength), label);
      };
    }
    case 'cookie': {
      const label = `${source.name} cookie`;
      return (request) => {
        // An empty value (`access_token=`, what many logouts leave behind instead of expiring the cookie) is no token:
        // it must neither block the Authorization header nor turn a missing token (401, the login challenge) into a 400.
        const values = cookieValues(request.headers?.cookie, source.name).filter((value) => value !== '' && value !== '""');
        if (values.length === 0) return ABSENT;
        // Two cookies of one name (set on different paths or domains, or injected by a sibling subdomain): which one
        // the client meant is unknowable.
        if (values.length > 1) return present({ kind: 'malformed', description: `Send the ${source.name} cookie once.` }, label);
        let value = values[0];
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        return present(rawToken(value, label, maxTokenLength), label);
      };
    }
    case 'query': {
      const label = `${source.name} query parameter`;
      return (request) => {
        const url: unknown = request.originalUrl ?? request.raw?.url ?? request.url;
        if (typeof url !== 'string') return ABSENT;
        const at = url.indexOf('?');
        if (at < 0) return ABSENT;
        // Bounded: a request line is limited by the HTTP server (16 KiB by default in Node).
        let values: string[];
        try {
          values = new URLSearchParams(url.slice(at + 1).split('#')[0]).getAll(source.name);
        } catch {
          return ABSENT;
        }
        if (values.length === 0) return ABSENT;
        if (values.length > 1) return present({ kind: 'malformed', description: `Send the ${source.name} query parameter once.` }, label);
        return present(rawToken(values[0], label, maxTokenLength), label);
      };
    }
    case 'function':
      return (request) => {
        let value: unknown;
        try {
          value = source.extract(request);
        } catch {
          return present({ kind: 'malformed', description: 'The access token could not be read from the handshake.' }, 'handshake');
        }
        if (value === undefined || value === null) return ABSENT;
        return present(rawToken(value, 'handshake', maxTokenLength), 'handshake');
      };
  }
}

function present(extraction: BearerExtraction, label: string): Found {
  return { kind: 'present', extraction, label };
}

/**
 * A raw token (no scheme) from a cookie, a custom header, the query string or a message: RFC 6750 b64token
 * characters, at most `maxTokenLength`. Anything else — empty, a scheme, spaces, control characters, a list — is
 * `invalid_request`, and never reaches the authorization server.
 */
export function rawToken(value: unknown, label: string, maxTokenLength: number): BearerExtraction {
  if (typeof value !== 'string') return { kind: 'malformed', description: `The ${label} must hold one access token.` };
  if (value.length === 0) return { kind: 'malformed', description: `The ${label} is empty: it must hold the access token.` };
  if (value.length > maxTokenLength) return { kind: 'malformed', description: `The access token in the ${label} is longer than ${maxTokenLength} characters.` };
  if (!B64TOKEN.test(value)) {
    return {
      kind: 'malformed',
      description: /^(bearer|dpop) /i.test(value)
        ? `The ${label} must hold the access token alone, without a scheme.`
        : `The ${label} must hold exactly one access token made of RFC 6750 b64token characters.`,
    };
  }
  return { kind: 'token', token: value };
}

/**
 * A token given as `Bearer <token>` or raw (graphql-ws `connectionParams`, microservice metadata): the same checks
 * as an Authorization header or a raw token.
 */
export function bearerOrRawToken(value: unknown, label: string, maxTokenLength: number): BearerExtraction {
  if (value === undefined || value === null || value === '') return MISSING;
  if (typeof value === 'string' && /^bearer(\s|$)/i.test(value)) {
    const extraction = extractBearer(value, maxTokenLength);
    return extraction.kind === 'other_scheme' ? { kind: 'malformed', description: `The ${label} must hold a bearer token.` } : extraction;
  }
  return rawToken(value, label, maxTokenLength);
}

/** The Authorization header, as the guard reads it: exactly one, RFC 6750 §2.1 (or RFC 9449 DPoP). */
export function extractAuthorization(request: any, maxTokenLength: number, acceptDpop: boolean): BearerExtraction {
  // Node keeps only the first of several Authorization headers; a proxy may keep the last. Refuse the ambiguity.
  if (countRawHeaders(request, 'authorization') > 1) return { kind: 'malformed', description: 'Send exactly one Authorization header.' };
  return extractBearer(request.headers?.authorization, maxTokenLength, acceptDpop);
}

function countRawHeaders(request: any, lowerName: string): number {
  const raw: unknown = request.rawHeaders ?? request.raw?.rawHeaders;
  if (!Array.isArray(raw)) return 0;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (typeof raw[i] === 'string' && raw[i].length === lowerName.length && raw[i].toLowerCase() === lowerName) count++;
  }
  return count;
}

/**
 * The values of every cookie named `name` in a Cookie header (RFC 6265 §5.4: `name=value` pairs separated by `;`).
 * Values are not decoded. Node joins several Cookie headers with `; `, so all of them are seen.
 */
export function cookieValues(header: unknown, name: string): string[] {
  if (typeof header !== 'string' || header.length === 0) return [];
  const values: string[] = [];
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq > start && eq < end && header.slice(start, eq).trim() === name) values.push(header.slice(eq + 1, end).trim());
    start = end + 1;
  }
  return values;
}
