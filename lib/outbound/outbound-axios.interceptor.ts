import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import type { OutboundTokenService } from './outbound-token.service.js';

/** Config key (namespaced) carrying which token a request went out with, across axios' config merges. */
const SENT = 'token-introspection:outbound';

interface Sent {
  readonly backend: string;
  readonly token: string;
  /** This is the one repetition after a refusal: never repeated again. */
  readonly repeat?: boolean;
}

type Config = InternalAxiosRequestConfig & { [SENT]?: Sent };

/**
 * Which backend a request is for: a name from the `outbound` option, or a function of the request config
 * answering a name, or `undefined` to leave that request alone.
 */
export type OutboundBackendSelector = string | ((config: InternalAxiosRequestConfig) => string | undefined);

/**
 * Gives an axios instance — `@nestjs/axios`' `HttpService` (its `axiosRef`) or one from `axios.create()` —
 * this API's own token for a backend of the `outbound` option: every request gets
 * `Authorization: Bearer <token>` (unless it sets `Authorization` itself), and a refusal (401, or a configured
 * 403 `invalid_token`) drops the token, fetches a new one once and repeats the request once when that is safe —
 * the rules of `OutboundTokenService.fetch()`, from the same code (`isRefusal`, `renewAfterRefusal`).
 * When no token can be had the request fails with `AuthorizationServerUnavailableError` and is not sent.
 *
 * Call it once per instance, e.g. in `onModuleInit()`; returns a function that removes the interceptors.
 * Refuses axios' global default instance (what `HttpModule` without `register()` uses): every axios request in
 * the process would carry the token. Register `HttpModule.register({ baseURL })` for the backend instead.
 * `@nestjs/axios` is not imported here: this works with any version, and apps without it load this package.
 */
export function attachOutboundToken(
  http: AxiosInstance | { readonly axiosRef: AxiosInstance },
  outbound: OutboundTokenService,
  backend: OutboundBackendSelector,
): () => void {
  const instance = 'axiosRef' in http ? http.axiosRef : http;
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

  const onRequest = async (config: Config): Promise<Config> => {
    const sent = config[SENT];
    if (sent?.repeat) return config; // the repetition carries the renewed token already
    const name = select(config);
    if (name === undefined || config.headers.has('authorization')) return config;
    const token = await outbound.getToken(name);
    config.headers.set('authorization', `Bearer ${token}`);
    config[SENT] = { backend: name, token };
    return config;
  };

  /** Resolves to the repetition's response, or undefined when the refusal stands. */
  const repeatIfRefused = async (config: Config | undefined, status: number, wwwAuthenticate: unknown, refusedBody: unknown) => {
    const sent = config?.[SENT];
    if (!config || !sent || sent.repeat) return undefined;
    if (!outbound.isRefusal(sent.backend, status, typeof wwwAuthenticate === 'string' ? wwwAuthenticate : undefined)) return undefined;
    // `config.data` is the body as sent (after transformRequest): a string or bytes are replayable, a stream is not.
    const renewed = await outbound.renewAfterRefusal(sent.backend, sent.token, { status, method: config.method, body: config.data });
    if (renewed === undefined) return undefined;
    (refusedBody as { destroy?: () => void } | undefined)?.destroy?.(); // a streamed refusal holds its socket
    config.headers.set('authorization', `Bearer ${renewed}`);
    const repeat: Config = Object.assign(config, { [SENT]: { backend: sent.backend, token: renewed, repeat: true } });
    return instance.request(repeat);
  };

  const requestId = instance.interceptors.request.use(onRequest as (c: InternalAxiosRequestConfig) => Promise<InternalAxiosRequestConfig>);
  const responseId = instance.interceptors.response.use(
    // A 401 reaches here when the caller's `validateStatus` accepts it.
    async (response: AxiosResponse) =>
      (await repeatIfRefused(response.config, response.status, response.headers['www-authenticate'], response.data)) ?? response,
    async (error: AxiosError) => {
      const response = error.response;
      if (!response) throw error;
      const repeated = await repeatIfRefused(error.config, response.status, response.headers['www-authenticate'], response.data);
      if (repeated === undefined) throw error;
      return repeated;
    },
  );
  return () => {
    instance.interceptors.request.eject(requestId);
    instance.interceptors.response.eject(responseId);
  };
}
