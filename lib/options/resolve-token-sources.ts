import type {
  MicroserviceAuthenticationOptions,
  MicroserviceMessage,
  TokenSource,
  WebSocketAuthenticationOptions,
  WebSocketTokenSource,
} from '../interfaces/token-sources.interface.js';

/** The options `resolveTokenSourceOptions` reads (a slice of `IntrospectionModuleOptions`). */
export interface TokenSourceOptions {
  readonly tokenSources?: readonly TokenSource[];
  readonly websocket?: WebSocketAuthenticationOptions;
  readonly microservice?: MicroserviceAuthenticationOptions;
}

/** A token source after validation: header names lower-cased, the query's name defaulted. Internal. */
export type ResolvedTokenSource =
  | { readonly in: 'authorization' }
  | { readonly in: 'header'; readonly name: string }
  | { readonly in: 'cookie'; readonly name: string }
  | { readonly in: 'query'; readonly name: string }
  | { readonly in: 'function'; readonly extract: (request: any) => unknown };

/** The token-source options after validation. Internal. */
export interface ResolvedTokenSourceOptions {
  /** HTTP (and GraphQL over HTTP) sources; undefined for the default (the Authorization header only). */
  readonly tokenSources?: readonly ResolvedTokenSource[];
  readonly websocket: {
    readonly tokenSources: readonly ResolvedTokenSource[];
    readonly connectionParam: string;
    readonly recheckMs: number;
    readonly maxPendingMessages: number;
    readonly maxPendingBytes: number;
    /**
     * Origins allowed to open WebSocket connections (normalised), 'same-origin' (the default with a cookie source:
     * the Origin must name the handshake's Host), or undefined (no check).
     */
    readonly allowedOrigins?: readonly string[] | 'same-origin';
  };
  /** How microservice messages carry their token, or undefined: `rpc` handlers that are not `@Public()` are refused. */
  readonly microservice?: { readonly token: (message: MicroserviceMessage) => unknown };
}

/** RFC 9110 §5.1 field name (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** RFC 6265 §4.1.1 cookie-name (a token). */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Headers that mean something else and must not double as a token source. */
const RESERVED_HEADERS = new Set([
  'authorization',
  'cookie',
  'dpop',
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-protocol',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

type NumberReader = (name: string, value: unknown, fallback: number, rule: { min: number; max: number; unit: string; integer?: boolean }) => number;

/** Validates `tokenSources`, `websocket` and `microservice`; problems and warnings are appended. */
export function resolveTokenSourceOptions(o: TokenSourceOptions, problems: string[], warnings: string[], num: NumberReader): ResolvedTokenSourceOptions {
  let tokenSources: ResolvedTokenSource[] | undefined;
  if (o.tokenSources !== undefined) {
    const sources = resolveSources('tokenSources', o.tokenSources, false, problems, warnings);
    // The default list, spelled out: the guard's own fast path.
    tokenSources = sources.length === 1 && sources[0].in === 'authorization' ? undefined : sources;
  }
  const ws = o.websocket ?? {};
  if (typeof ws !== 'object' || ws === null) problems.push('`websocket` must be an object ({ tokenSources, connectionParam, recheckIntervalSeconds }).');
  const wsSources =
    ws.tokenSources === undefined ? [{ in: 'authorization' } as const] : resolveSources('websocket.tokenSources', ws.tokenSources, true, problems, warnings);
  const connectionParam = ws.connectionParam ?? 'authorization';
  if (typeof connectionParam !== 'string' || connectionParam.length === 0 || connectionParam.length > 128) {
    problems.push("`websocket.connectionParam` must be a non-empty string (the graphql-ws connectionParams key, e.g. 'authorization').");
  }
  const websocket = {
    tokenSources: wsSources,
    connectionParam,
    recheckMs: 1000 * num('websocket.recheckIntervalSeconds', ws.recheckIntervalSeconds, 60, { min: 1, max: 86_400, unit: 'seconds' }),
    maxPendingMessages: num('websocket.maxPendingMessages', ws.maxPendingMessages, 16, { min: 0, max: 10_000, unit: 'messages', integer: true }),
    maxPendingBytes: num('websocket.maxPendingBytes', ws.maxPendingBytes, 65_536, { min: 0, max: 1_073_741_824, unit: 'bytes', integer: true }),
    allowedOrigins: resolveAllowedOrigins(ws.allowedOrigins, wsSources, problems, warnings),
  };

  let microservice: ResolvedTokenSourceOptions['microservice'];
  if (o.microservice !== undefined) {
    const source = (o.microservice as { token?: unknown } | null)?.token;
    if (typeof source === 'function') {
      microservice = { token: source as (message: MicroserviceMessage) => unknown };
    } else if (isObject(source) && source.in === 'payload' && typeof source.field === 'string' && source.field.length > 0) {
      const field = source.field;
      microservice = { token: ({ data }): unknown => (isObject(data) && Object.hasOwn(data, field) ? (data[field] as unknown) : undefined) };
    } else if (isObject(source) && source.in === 'metadata' && typeof source.name === 'string' && HEADER_NAME.test(source.name)) {
      const name = source.name;
      microservice = { token: ({ context }) => metadataValue(context, name) };
    } else {
      problems.push(
        "`microservice.token` must say where messages carry their token: { in: 'payload', field: 'accessToken' }, " +
          "{ in: 'metadata', name: 'authorization' }, or a function ({ data, context }) => token.",
      );
    }
  }
  return { tokenSources, websocket, microservice };
}

function resolveSources(option: string, value: unknown, functions: boolean, problems: string[], warnings: string[]): ResolvedTokenSource[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`\`${option}\` must be a non-empty list, e.g. [{ in: 'header' }, { in: 'cookie', name: 'access_token' }].`);
    return [{ in: 'authorization' }];
  }
  const resolved: ResolvedTokenSource[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of (value as (TokenSource | WebSocketTokenSource)[]).entries()) {
    const where = `\`${option}[${i}]\``;
    let source: ResolvedTokenSource | undefined;
    if (typeof raw === 'function') {
      if (functions) source = { in: 'function', extract: raw };
      else problems.push(`${where} is a function: only \`websocket.tokenSources\` takes functions. Use { in: 'header' | 'cookie' | 'query', ... }.`);
    } else if (!isObject(raw)) {
      problems.push(`${where} must be an object such as { in: 'header' } or { in: 'cookie', name: 'access_token' }.`);
    } else if (raw.in === 'header') {
      if (raw.name === undefined || (typeof raw.name === 'string' && raw.name.toLowerCase() === 'authorization')) {
        source = { in: 'authorization' };
      } else if (typeof raw.name !== 'string' || !HEADER_NAME.test(raw.name) || RESERVED_HEADERS.has(raw.name.toLowerCase())) {
        problems.push(
          `${where}: header name ${JSON.stringify(raw.name)} is not usable: give an HTTP field name of your own such as 'X-Api-Token' (not Cookie, DPoP, Host or another standard header).`,
        );
      } else {
        source = { in: 'header', name: raw.name.toLowerCase() };
      }
    } else if (raw.in === 'cookie') {
      if (typeof raw.name !== 'string' || !COOKIE_NAME.test(raw.name)) {
        problems.push(`${where}: cookie name ${JSON.stringify(raw.name)} is not an RFC 6265 cookie name: use letters, digits and - _ . (e.g. 'access_token').`);
      } else {
        source = { in: 'cookie', name: raw.name };
      }
    } else if (raw.in === 'query') {
      const name = raw.name ?? 'access_token';
      if (raw.dangerouslyAllowTokenInUrl !== true) {
        problems.push(
          `${where}: tokens in the query string are refused (RFC 6750 §2.3, OAuth 2.0 Security BCP RFC 9700 §4.3.2): URLs are logged and leaked. ` +
            'Use the Authorization header or a cookie; if you must, add `dangerouslyAllowTokenInUrl: true`.',
        );
      } else if (typeof name !== 'string' || name.length === 0 || name.length > 128) {
        problems.push(`${where}: the query parameter name must be a non-empty string (default 'access_token').`);
      } else {
        source = { in: 'query', name };
        warnings.push(
          `UNSAFE: ${option} accepts access tokens in the query string ('${name}'). URLs end up in access logs, proxy logs, browser ` +
            'history and Referer headers, where anyone who reads them can replay the token (RFC 6750 §2.3, RFC 9700 §4.3.2). ' +
            'Prefer the Authorization header or a cookie, and keep token lifetimes short.',
        );
      }
    } else {
      problems.push(`${where}: \`in\` must be 'header', 'cookie' or 'query', not ${JSON.stringify((raw as { in?: unknown }).in)}.`);
    }
    if (!source) continue;
    const id = source.in === 'function' ? `function:${i}` : `${source.in}:${'name' in source ? source.name : ''}`;
    if (seen.has(id)) problems.push(`${where} repeats an earlier source: list each source once.`);
    seen.add(id);
    resolved.push(source);
  }
  return resolved.length ? resolved : [{ in: 'authorization' }];
}

/**
 * `websocket.allowedOrigins`, normalised to `URL.origin`. Unset with a cookie source: same origin only (cross-site
 * WebSocket hijacking), with a warning asking to list the origins.
 */
function resolveAllowedOrigins(
  value: unknown,
  sources: readonly ResolvedTokenSource[],
  problems: string[],
  warnings: string[],
): readonly string[] | 'same-origin' | undefined {
  if (value === undefined) {
    if (!sources.some((source) => source.in === 'cookie')) return undefined;
    warnings.push(
      '`websocket.tokenSources` reads a cookie but `websocket.allowedOrigins` is not set: only handshakes whose Origin names the ' +
        "request's own Host are accepted (a page on another origin would otherwise ride the user's cookie: cross-site WebSocket " +
        "hijacking). Set `websocket.allowedOrigins` to the origins of your web app, e.g. ['https://app.example.com'].",
    );
    return 'same-origin';
  }
  if (!Array.isArray(value) || value.length === 0) {
    problems.push("`websocket.allowedOrigins` must be a non-empty list of origins, e.g. ['https://app.example.com'].");
    return [];
  }
  const origins: string[] = [];
  for (const [i, raw] of value.entries()) {
    let origin: string | undefined;
    try {
      const url = typeof raw === 'string' && !raw.includes('*') ? new URL(raw) : undefined;
      const bare =
        url &&
        url.pathname === '/' &&
        !url.search &&
        !url.hash &&
        !url.username &&
        !url.password &&
        !raw
          .replace(/\/$/, '')
          .slice(url.protocol.length + 2)
          .includes('/');
      if (bare && (url.protocol === 'https:' || url.protocol === 'http:')) origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (origin) origins.push(origin);
    else
      problems.push(
        `\`websocket.allowedOrigins[${i}]\` (${JSON.stringify(raw)}) is not an origin: write scheme, host and optional port, e.g. 'https://app.example.com' (no path, no wildcard).`,
      );
  }
  return origins;
}

/** A metadata value of a microservice message: gRPC `Metadata.get()`, `getHeaders()` (NATS, ...), Kafka message headers. */
function metadataValue(context: unknown, name: string): unknown {
  if (!isObject(context)) return undefined;
  const c = context as { get?: unknown; getHeaders?: unknown; getMessage?: unknown };
  // gRPC Metadata: get(name) → array of values.
  if (typeof c.get === 'function' && typeof c.getHeaders !== 'function' && typeof c.getMessage !== 'function') {
    const values = (c.get as (key: string) => unknown)(name.toLowerCase());
    return Array.isArray(values) ? (values.length === 1 ? values[0] : values.length === 0 ? undefined : values) : values;
  }
  let headers: unknown;
  if (typeof c.getHeaders === 'function') headers = (c.getHeaders as () => unknown).call(context);
  else if (typeof c.getMessage === 'function') headers = ((c.getMessage as () => { headers?: unknown }).call(context) ?? {}).headers;
  if (!isObject(headers)) return undefined;
  const h = headers as { get?: unknown };
  // NATS headers (MsgHdrs) have get(); plain objects are looked up by name, either case.
  if (typeof h.get === 'function') return (h.get as (key: string) => unknown).call(headers, name) || undefined;
  return headers[name] ?? headers[name.toLowerCase()];
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null;
}
