/** Where the original request's method and URI come from (`ForwardAuthOptions.originalRequest`). */
export type OriginalRequestSource = 'x-forwarded' | 'x-original' | 'path';

/**
 * The request the gateway is asking about, as `TokenGuard` reads a request: the original method, the client's
 * headers as forwarded (Authorization, DPoP, cookies), the absolute URI for DPoP's `htu`, and the normalised path the
 * locations are matched on. `TokenGuard` stores the accepted token and result on this object.
 */
export interface ForwardedRequest {
  readonly method: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly rawHeaders?: readonly string[];
  /** The client's address as the gateway reports it (`X-Forwarded-For`, last entry), else the gateway's: fairness only. */
  readonly ip?: string;
  /** The original URI's path and query, as forwarded. */
  readonly url: string;
  /** The path locations are matched on: decoded, checked, lower-cased (see `normalisePath`). */
  readonly path: string;
  /** `externalOrigin` (or the forwarded scheme and host) and the path: the DPoP proof's `htu`. */
  readonly uri: string;
  [slot: symbol]: unknown;
}

/** A forwarded request that cannot be decided: answered 400 (the gateway's or the client's mistake, never a 500). */
export class ForwardedRequestError extends Error {}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const MAX_URI = 8192;
const HEADERS: Record<Exclude<OriginalRequestSource, 'path'>, readonly [method: string, uri: string]> = {
  'x-forwarded': ['x-forwarded-method', 'x-forwarded-uri'],
  'x-original': ['x-original-method', 'x-original-uri'],
};

/**
 * Reads the original request from the decision request. `decisionPath` is the endpoint's own path (its suffix is the
 * original path in `'path'` mode). `pathRequired`: without an original URI the request is refused (locations are
 * declared, so the path decides); otherwise `/` stands for it.
 */
export function forwardedRequest(
  request: any,
  source: OriginalRequestSource,
  decisionPath: string,
  externalOrigin: string | undefined,
  pathRequired: boolean,
): ForwardedRequest {
  const raw = request.raw ?? request;
  const headers: Record<string, string | string[] | undefined> = request.headers ?? {};
  const rawHeaders: readonly string[] | undefined = Array.isArray(raw.rawHeaders) ? raw.rawHeaders : undefined;
  let method: string;
  let url: string | undefined;
  if (source === 'path') {
    method = String(raw.method ?? request.method);
    const own = String(raw.url ?? request.url ?? '');
    // The first occurrence is the route itself (after a global prefix, if any): what follows is the original target.
    const at = own.toLowerCase().indexOf(decisionPath.toLowerCase());
    const rest = at === -1 ? '' : own.slice(at + decisionPath.length);
    if (at === -1 || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?'))) {
      throw new ForwardedRequestError('The original path must follow the decision path.');
    }
    url = rest.startsWith('/') ? rest : undefined;
  } else {
    const [methodHeader, uriHeader] = HEADERS[source];
    method = single(rawHeaders, headers, methodHeader) ?? String(raw.method ?? request.method);
    url = single(rawHeaders, headers, uriHeader);
  }
  if (!METHOD.test(method)) throw new ForwardedRequestError('The forwarded method is not an HTTP method.');
  if (url === undefined) {
    if (pathRequired) throw new ForwardedRequestError(`The gateway must forward the original URI (${describe(source)}).`);
    url = '/';
  }
  if (url.length > MAX_URI) throw new ForwardedRequestError(`The forwarded URI is longer than ${MAX_URI} characters.`);
  const target = pathOf(url);
  const path = normalisePath(target);
  const origin = externalOrigin ?? originOf(headers, raw);
  return { method: method.toUpperCase(), headers, rawHeaders, ip: clientAddress(headers, raw), url, path, uri: origin + target };
}

/**
 * The path locations are matched on. The rule: what a gateway or an upstream could read as another path is refused
 * (400), never normalised into a guess. Refused: a path not starting with `/`, invalid percent-encoding, an encoded
 * `/` or `\` (`%2f`, `%5c`), a `%` left after decoding (double encoding: `%252e`), a backslash, a control
 * character, a `;` (raw or `%3b`: servlet containers strip `;` path parameters, routing `/admin;x/` to `/admin/`),
 * an empty segment (`//`), a `.` or `..` segment (also encoded: `%2e%2e`). Then decoded and lower-cased (upstreams
 * such as Express route case-insensitively): `/%41dmin` and `/ADMIN` both match the `/admin` location.
 */
export function normalisePath(target: string): string {
  if (!target.startsWith('/')) throw new ForwardedRequestError('The forwarded path must start with /.');
  if (/%(2f|5c)/i.test(target)) throw new ForwardedRequestError('The forwarded path holds an encoded slash.');
  let decoded: string;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    throw new ForwardedRequestError('The forwarded path is not valid percent-encoded UTF-8.');
  }
  if (decoded.includes('%')) throw new ForwardedRequestError('The forwarded path is encoded twice.');

  if (/[\\\x00-\x1f\x7f]/.test(decoded)) throw new ForwardedRequestError('The forwarded path holds a backslash or a control character.');
  if (decoded.includes(';')) throw new ForwardedRequestError('The forwarded path holds a ; (a path parameter some upstreams strip before routing).');
  const segments = decoded.split('/').slice(1);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === '.' || segment === '..') throw new ForwardedRequestError('The forwarded path holds a dot segment.');
    if (segment === '' && i < segments.length - 1) throw new ForwardedRequestError('The forwarded path holds an empty segment (//).');
  }
  return decoded.toLowerCase();
}

/** The path of a request target (origin-form, or absolute-form from a proxy), without query and fragment. */
function pathOf(url: string): string {
  let target = url;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const afterAuthority = target.indexOf('/', target.indexOf('//') + 2);
    target = afterAuthority === -1 ? '/' : target.slice(afterAuthority);
  }
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

/** A header sent exactly once: two values (a client's and the gateway's) are refused, never joined or guessed between. */
function single(rawHeaders: readonly string[] | undefined, headers: Record<string, unknown>, name: string): string | undefined {
  if (rawHeaders) {
    let count = 0;
    for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].length === name.length && rawHeaders[i].toLowerCase() === name) count++;
    if (count > 1) throw new ForwardedRequestError(`Send exactly one ${name} header.`);
  }
  const value = headers[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new ForwardedRequestError(`Send exactly one ${name} header.`);
  return value;
}

function describe(source: OriginalRequestSource): string {
  return source === 'path' ? 'below the decision path' : HEADERS[source][1];
}

/** The nearest proxy's value is the last one (a proxy that appends keeps the client's first). */
function last(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value.split(',').pop()!.trim() : undefined;
  return text === '' ? undefined : text;
}

function originOf(headers: Record<string, unknown>, raw: any): string {
  const proto = last(headers['x-forwarded-proto']) ?? (raw.socket?.encrypted ? 'https' : 'http');
  const host = last(headers['x-forwarded-host']) ?? (typeof headers.host === 'string' ? headers.host : 'invalid.host');
  return `${/^https?$/i.test(proto) ? proto.toLowerCase() : 'http'}://${host}`;
}

/**
 * The client's address for the fair queue (new-token lookups served round-robin per client). `forwardedRequest` runs
 * only for a trusted peer (`ForwardAuthGuard` refuses any other first), so the last `X-Forwarded-For` value is what the
 * trusted gateway saw (nginx: `proxy_set_header X-Forwarded-For $remote_addr`; Traefik appends the client's), read
 * here whatever the application's `trust proxy` setting; without the header, the peer's (the gateway's) address.
 */
function clientAddress(headers: Record<string, unknown>, raw: any): string | undefined {
  const forwarded = last(headers['x-forwarded-for']);
  const peer: unknown = raw.socket?.remoteAddress;
  return forwarded ?? (typeof peer === 'string' ? peer : undefined);
}
