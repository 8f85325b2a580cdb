import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';

/** The identity headers of a 200 unless `upstreamHeaders` says otherwise: header name → claim. */
export const DEFAULT_UPSTREAM_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Auth-Subject': 'sub',
  'X-Auth-Scopes': 'scope',
  'X-Auth-Client-Id': 'client_id',
  'X-Auth-Username': 'username',
  'X-Auth-Expires': 'exp',
});

/** An RFC 9110 §5.1 field name. */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Headers that frame or route the response itself: never identity headers. */
const RESERVED = new Set([
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'host',
  'set-cookie',
  'www-authenticate',
  'retry-after',
  'date',
  'trailer',
  'te',
]);

/** Checks a header name for `upstreamHeaders` / `upstreamToken.header`; returns why it cannot be one, or undefined. */
export function unusableHeaderName(name: string): string | undefined {
  if (!FIELD_NAME.test(name)) return `'${name}' is not an HTTP header name.`;
  if (RESERVED.has(name.toLowerCase())) return `'${name}' frames the response; choose another header name.`;
  return undefined;
}

/** The identity headers to set: `upstreamHeaders` merged over the defaults, `false` entries removed. */
export function identityHeaderMap(upstreamHeaders: Record<string, string | false> | undefined): ReadonlyArray<readonly [header: string, claim: string]> {
  const merged = new Map<string, [string, string | false]>();
  for (const [header, claim] of Object.entries(DEFAULT_UPSTREAM_HEADERS)) merged.set(header.toLowerCase(), [header, claim]);
  for (const [header, claim] of Object.entries(upstreamHeaders ?? {})) {
    const why = unusableHeaderName(header);
    if (why) throw new Error(why);
    if (claim !== false && (typeof claim !== 'string' || claim === '' || claim === '__proto__')) {
      throw new Error(`the claim of '${header}' must be a claim name, or false to send no such header.`);
    }
    merged.set(header.toLowerCase(), [header, claim]);
  }
  return [...merged.values()].filter((entry): entry is [string, string] => entry[1] !== false);
}

/**
 * A claim as a header value: strings as they are, finite numbers and booleans as text, `scope` as the granted scopes,
 * arrays of those space-separated, objects as JSON; anything else (absent, null, a function) is no value.
 */
export function claimText(result: ActiveIntrospectionResult, claim: string): string | undefined {
  if (claim === 'scope') return result.scopes.join(' ');
  const value: unknown = Object.hasOwn(result, claim) ? result[claim] : undefined;
  const scalar = (v: unknown) => (typeof v === 'string' ? v : (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean' ? String(v) : undefined);
  if (Array.isArray(value)) {
    const parts = value.map(scalar);
    return parts.every((p) => p !== undefined) ? parts.join(' ') : undefined;
  }
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  }
  return scalar(value);
}

/**
 * A value safe to send as a header the gateway copies upstream, or undefined (the header is then not sent at all:
 * a dropped identity is safer than a changed one). Dropped: empty, a control character (CR, LF, NUL, TAB, DEL: no
 * header injection or splitting), leading or trailing whitespace (parsers trim it: `' admin'` must not become
 * `admin`), the access token inside it, longer than `maxBytes` once encoded. `%` and non-ASCII characters are
 * percent-encoded as UTF-8, so `decodeURIComponent(value)` is the claim exactly.
 */
export function sanitiseHeaderValue(value: string, maxBytes: number, token?: string): string | undefined {
  if (value === '' || /[\x00-\x1f\x7f]/.test(value) || value.trim() !== value) return undefined;
  if (token && value.includes(token)) return undefined;
  let encoded: string;
  try {
    encoded = value.replace(/[%\u0080-\u{10ffff}]/gu, (c) => encodeURIComponent(c));
  } catch {
    return undefined; // a lone surrogate: not text
  }
  return Buffer.byteLength(encoded) <= maxBytes ? encoded : undefined;
}

/** The identity headers of an accepted token, sanitised: only those with a usable value. */
export function identityHeaders(
  map: ReadonlyArray<readonly [string, string]>,
  result: ActiveIntrospectionResult,
  maxBytes: number,
  token: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [header, claim] of map) {
    const text = claimText(result, claim);
    const value = text === undefined ? undefined : sanitiseHeaderValue(text, maxBytes, token);
    if (value !== undefined) headers[header] = value;
  }
  return headers;
}
