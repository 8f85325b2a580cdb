import { Logger } from '@nestjs/common';
import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { attachmentsOf } from './outbound-attachments.js';
import type { OutboundTokenService } from './outbound-token.service.js';

/** Config key (namespaced) marking a request this module gave a token to; survives axios' config merges. */
const SENT = 'token-introspection:outbound';

/**
 * Which attachment sent a request, for which backend and URL. A class instance, not a plain object: axios'
 * `mergeConfig` keeps it by reference (so a repetition or a retry library's resend still carries it). It holds
 * no token: the token is in `tokens` below, out of what `AxiosError.toJSON()` and `util.inspect` serialise.
 */
class Stamp {
  constructor(
    /** The `attachOutboundToken()` call that sent it: another attachment's interceptors leave it alone. */
    readonly attachment: number,
    readonly backend: string,
    /** The URL the token went to (method, origin, path): the renewal budget's key. */
    readonly url: string,
  ) {}
}
const tokens = new WeakMap<Stamp, string>();
/** Stamps whose next pass through the request interceptor is our own repetition (keeps its renewed token). */
const repeating = new WeakSet<Stamp>();

type Config = InternalAxiosRequestConfig & { [SENT]?: Stamp };

interface Attached {
  readonly outbound: OutboundTokenService;
  readonly backend: OutboundBackendSelector;
  readonly detach: () => void;
}
/** Instances that carry an attachment: a second one would act on the same requests twice. */
const attachedTo = new WeakMap<AxiosInstance, Attached>();
let attachments = 0;
const log = new Logger('OutboundTokens');

/**
 * Which backend a request is for: a name from the `outbound` option, or a function of the request config
 * answering a name, or `undefined` to leave that request alone.
 */
export type OutboundBackendSelector = string | ((config: InternalAxiosRequestConfig) => string | undefined);

/**
 * What `attachOutboundToken()` needs of an axios instance, described structurally rather than as axios' own
 * `AxiosInstance`: axios ships separate type declarations for CommonJS and ESM, and its classes (`AxiosHeaders`) make
 * the two incompatible; this package's types see the CommonJS ones while `@nestjs/axios` 12 (ESM) sees the ESM ones.
 * Any axios 1.x instance (`axios.create()`, `HttpService.axiosRef`) fits, whichever declarations its app sees.
 */
export interface OutboundAxiosInstance {
  /** Its defaults: `baseURL` is the backend's origin when `outbound.<backend>.origins` is not set. */
  readonly defaults: { readonly baseURL?: string };
  /** Where the request and response interceptors are added (and removed by the returned function). */
  readonly interceptors: {
    readonly request: { use(...handlers: never[]): number; eject(id: number): void };
    readonly response: { use(...handlers: never[]): number; eject(id: number): void };
  };
  /** The URL a request goes to (`baseURL` + `url`, as axios resolves it): the token goes only to the backend's origins. */
  getUri(config?: never): string;
}

/** `Authorization` redacted from what axios hands back (config, error, request) once we are done with it. */
const REDACTED = 'Bearer [redacted]';

/**
 * Gives an axios instance — `@nestjs/axios`' `HttpService` (its `axiosRef`) or one from `axios.create()` —
 * this API's own token for a backend of the `outbound` option: every request **to the backend's origin** gets
 * `Authorization: Bearer <token>` (unless it sets `Authorization` itself), and a refusal (401, or a configured
 * 403 `invalid_token`) drops the token, fetches a new one once and repeats the request once when that is safe —
 * the rules of `OutboundTokenService.fetch()`, from the same code (`isRefusal`, `renewAfterRefusal`).
 * When no token can be had the request fails with `AuthorizationServerUnavailableError` and is not sent.
 *
 * The backend's origins are its `origins` option, default: the origin of the instance's `baseURL` (read now).
 * A request whose URL (baseURL + url, as axios resolves it) has another origin goes out **without** the token,
 * and its answers are left alone. Refused: an instance without `baseURL` for a backend without `origins`,
 * axios' global default instance (what `HttpModule` without `register()` uses), and a second attachment with
 * other arguments on an instance that has one (the same arguments again: a no-op with a warning).
 *
 * Call it once per instance, e.g. in `onModuleInit()`; returns a function that removes the interceptors. They are
 * also removed when the application shuts down (`OutboundTokenService.onApplicationShutdown`).
 * `@nestjs/axios` is not imported here: this works with any version, and apps without it load this package.
 */
export function attachOutboundToken(
  http: OutboundAxiosInstance | { readonly axiosRef: OutboundAxiosInstance },
  outbound: OutboundTokenService,
  backend: OutboundBackendSelector,
): () => void {
  const instance = ('axiosRef' in http ? http.axiosRef : http) as AxiosInstance;
  // Only axios' default export carries these; instances from axios.create() do not.
  if (typeof (instance as { isCancel?: unknown }).isCancel === 'function' && typeof (instance as { Axios?: unknown }).Axios === 'function') {
    throw new IntrospectionConfigurationError(
      "attachOutboundToken(): this is axios' global default instance (HttpModule imported without register()): every axios request " +
        'in the process would carry the token. Import `HttpModule.register({ baseURL: <the backend> })` for this backend, or pass an instance from `axios.create()`.',
    );
  }
  const select = typeof backend === 'function' ? backend : () => backend;
  if (typeof backend === 'string' && !outbound.names.includes(backend)) {
    throw new IntrospectionConfigurationError(
      `attachOutboundToken(): no outbound backend named '${backend}': add it to the module's \`outbound\` option (configured: ${outbound.names.join(', ') || 'none'}).`,
    );
  }
  const baseOrigin = originOf(instance.defaults.baseURL);
  if (typeof backend === 'string' && !baseOrigin && !outbound.originsOf(backend)) {
    throw new IntrospectionConfigurationError(
      `attachOutboundToken(): this axios instance has no \`baseURL\` and \`outbound.${backend}.origins\` is not set: the token would go to ` +
        `whatever host a request names. Register the instance with \`baseURL: <the backend>\` (HttpModule.register({ baseURL })), or set ` +
        `\`outbound.${backend}.origins\` to the backend's origins.`,
    );
  }
  const existing = attachedTo.get(instance);
  if (existing) {
    if (existing.outbound === outbound && existing.backend === backend) {
      log.warn("attachOutboundToken(): this axios instance already carries this backend's token; the second call does nothing (call it once per instance).");
      return existing.detach;
    }
    throw new IntrospectionConfigurationError(
      'attachOutboundToken(): this axios instance already carries outbound tokens from another attachOutboundToken() call: two ' +
        'would act on the same requests. Give each backend its own instance (HttpModule.register({ baseURL }) per backend), use one ' +
        'call with a function choosing the backend per request, or call the function the first call returned to remove it.',
    );
  }
  const id = ++attachments;
  /** Origins the token may go to for `name`, or a reason why none. */
  const allowed = (name: string): readonly string[] => {
    const configured = outbound.originsOf(name);
    if (configured) return configured;
    if (baseOrigin) return [baseOrigin];
    throw new IntrospectionConfigurationError(
      `attachOutboundToken(): the request is for backend '${name}', which has no \`origins\`, on an axios instance without \`baseURL\`: ` +
        `set \`outbound.${name}.origins\` to the backend's origins.`,
    );
  };

  const onRequest = async (config: Config): Promise<Config> => {
    const stamp = config[SENT];
    if (stamp && repeating.has(stamp)) {
      repeating.delete(stamp); // our repetition carries the renewed token already
      return config;
    }
    const ours = stamp?.attachment === id;
    if (stamp && !ours) return config; // another attachment's request
    if (ours) {
      delete config[SENT]; // a resend of our earlier request (a retry library): decided again below
      config.headers.delete('authorization');
    }
    const name = select(config);
    if (name === undefined || config.headers.has('authorization')) return config;
    const url = resolvedUrl(instance, config);
    if (!url || !allowed(name).includes(url.origin)) return config; // another origin: no token, and no renewal on its answers
    if ((config.socketPath ?? undefined) !== (instance.defaults.socketPath ?? undefined)) return config; // another destination than the URL says
    const token = await outbound.getToken(name);
    config.headers.set('authorization', `Bearer ${token}`);
    const sent = new Stamp(id, name, `${url.origin}${url.pathname}`);
    tokens.set(sent, token);
    config[SENT] = sent;
    return config;
  };

  /** Resolves to the repetition's response, or undefined when the refusal stands. */
  const repeatIfRefused = async (config: Config | undefined, status: number, wwwAuthenticate: unknown, refusedBody: unknown) => {
    const stamp = config?.[SENT];
    if (!config || !stamp || stamp.attachment !== id) return undefined;
    const token = tokens.get(stamp);
    if (token === undefined) return undefined; // the repetition's answer: never repeated again
    tokens.delete(stamp);
    if (!outbound.isRefusal(stamp.backend, status, typeof wwwAuthenticate === 'string' ? wwwAuthenticate : undefined)) return undefined;
    // `config.data` is the body as sent (after transformRequest): a string or bytes are replayable, a stream is not.
    const renewed = await outbound.renewAfterRefusal(stamp.backend, token, { status, method: config.method, body: config.data, url: stamp.url });
    if (renewed === undefined) return undefined;
    (refusedBody as { destroy?: () => void } | undefined)?.destroy?.(); // a streamed refusal holds its socket
    config.headers.set('authorization', `Bearer ${renewed}`);
    const again = new Stamp(id, stamp.backend, stamp.url);
    repeating.add(again);
    config[SENT] = again;
    return instance.request(config);
  };

  /** Our token out of what the caller gets back (`toJSON()`, `util.inspect`, loggers). */
  const redact = (config: Config | undefined, request: unknown) => {
    const stamp = config?.[SENT];
    if (!config || stamp?.attachment !== id) return;
    tokens.delete(stamp);
    if (config.headers.has('authorization')) config.headers.set('authorization', REDACTED);
    redactRequest(request);
  };

  const requestId = instance.interceptors.request.use(onRequest as (c: InternalAxiosRequestConfig) => Promise<InternalAxiosRequestConfig>);
  const responseId = instance.interceptors.response.use(
    // A 401 reaches here when the caller's `validateStatus` accepts it.
    async (response: AxiosResponse) => {
      const repeated = await repeatIfRefused(response.config, response.status, response.headers['www-authenticate'], response.data);
      if (repeated) return repeated;
      redact(response.config, response.request);
      return response;
    },
    async (error: AxiosError) => {
      const response = error.response;
      if (response) {
        const repeated = await repeatIfRefused(error.config, response.status, response.headers['www-authenticate'], response.data);
        if (repeated !== undefined) return repeated;
      }
      redact(error.config, error.request);
      throw error;
    },
  );
  let detached = false;
  const detach = () => {
    if (detached) return;
    detached = true;
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
    if (attachedTo.get(instance)?.detach === detach) attachedTo.delete(instance);
    attachmentsOf.get(outbound)?.delete(detach);
  };
  attachedTo.set(instance, { outbound, backend, detach });
  let own = attachmentsOf.get(outbound);
  if (!own) attachmentsOf.set(outbound, (own = new Set()));
  own.add(detach);
  return detach;
}

function originOf(url: unknown): string | undefined {
  if (typeof url !== 'string' || !URL.canParse(url)) return undefined;
  const { protocol, origin } = new URL(url);
  return protocol === 'http:' || protocol === 'https:' ? origin : undefined;
}

/** The URL axios sends the request to (its own `buildFullPath`, through `getUri`), or undefined when not absolute. */
function resolvedUrl(instance: AxiosInstance, config: InternalAxiosRequestConfig): URL | undefined {
  try {
    return new URL(instance.getUri({ baseURL: config.baseURL, url: config.url, allowAbsoluteUrls: config.allowAbsoluteUrls }));
  } catch {
    return undefined;
  }
}

/**
 * Node's `ClientRequest` keeps the header block it sent (`_header`), and follow-redirects its options: both are
 * reachable from `error.request` / `response.request`. Rewritten only once the headers went out (they are never
 * read again then).
 */
function redactRequest(request: unknown): void {
  const seen = new Set<unknown>();
  const visit = (r: unknown) => {
    if (!r || typeof r !== 'object' || seen.has(r)) return;
    seen.add(r);
    const req = r as {
      _header?: unknown;
      _headerSent?: boolean;
      _redirectable?: unknown;
      _currentRequest?: unknown;
      _options?: { headers?: Record<string, unknown> };
    };
    if (typeof req._header === 'string' && req._headerSent === true) {
      req._header = req._header.replace(/^(authorization:[ \t]*)[^\r\n]*/gim, `$1${REDACTED}`);
      // getHeader()'s store (node's kOutHeaders): `[name, value]` per lower-cased name.
      const out = Object.getOwnPropertySymbols(r).find((s) => s.description === 'kOutHeaders');
      const entry = out && (r as Record<symbol, Record<string, unknown> | null>)[out]?.authorization;
      if (Array.isArray(entry) && entry.length === 2) entry[1] = REDACTED;
    }
    const headers = req._options?.headers;
    if (headers && typeof headers === 'object') {
      for (const key of Object.keys(headers)) if (key.toLowerCase() === 'authorization') headers[key] = REDACTED;
    }
    visit(req._redirectable);
    visit(req._currentRequest);
  };
  visit(request);
}
