import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import axios, { type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { isStaleConnectionError } from './stale-connection.js';

export { isStaleConnectionError } from './stale-connection.js';

/**
 * How long the keep-alive agents this library creates keep an idle connection (ms). Below the idle
 * timeouts of common servers (Node.js and Apache: 5 s; a server's `Keep-Alive: timeout=N` hint lowers
 * it to N − 1 s) and far below those of middleboxes that forget idle flows silently (NAT gateways,
 * L4 load balancers, firewalls: minutes), so a pooled connection is rarely dead when it is reused.
 */
export const IDLE_CONNECTION_TIMEOUT_MS = 4000;

/** Marks a request config that is already the replay of a request that met a stale connection. */
const REPLAYED = 'staleConnectionReplayed';

/**
 * The HTTP client for the authorization server's endpoints: no redirects (credentials stay with the
 * configured endpoint), bounded bodies, text responses parsed by us, every status returned (the caller
 * classifies it), keep-alive agents unless the user gave their own (idle connections closed after
 * {@link IDLE_CONNECTION_TIMEOUT_MS}). Deadlines come through `signal`.
 *
 * A request that met a stale pooled connection ({@link isStaleConnectionError}) is sent once more at
 * once — as Node.js advises — after the agent's other idle connections are dropped (idle as long or
 * longer, they are most likely stale too), so the replay goes out on a fresh connection. The request
 * never reached the server's application; every call here is a read (introspection, keys, metadata) or
 * a token request whose duplicate is harmless. The replay is part of the same attempt: no retry, no
 * backoff, nothing for the circuit breaker.
 */
export function createAuthorizationServerHttp(options: ResolvedOptions): AxiosInstance {
  const http = axios.create({
    timeout: 0,
    maxRedirects: 0,
    maxContentLength: options.maxResponseBytes,
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    validateStatus: () => true,
    httpAgent: options.httpAgent ?? new HttpAgent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
    httpsAgent: options.httpsAgent ?? new HttpsAgent({ keepAlive: true, timeout: IDLE_CONNECTION_TIMEOUT_MS }),
  });
  http.interceptors.response.use(undefined, (error: unknown) => {
    const config = (error as { config?: InternalAxiosRequestConfig & { [REPLAYED]?: boolean } }).config;
    if (!config || config[REPLAYED] || config.signal?.aborted || !isStaleConnectionError(error)) return Promise.reject(error);
    dropIdleConnections((error as { request?: { agent?: unknown } }).request?.agent);
    return http.request({ ...config, [REPLAYED]: true } as InternalAxiosRequestConfig);
  });
  return http;
}

/** Closes the idle (pooled, unused) connections of an agent; connections in use are left alone. */
function dropIdleConnections(agent: unknown): void {
  const free = (agent as { freeSockets?: Record<string, Array<{ destroy(): void }> | undefined> } | undefined)?.freeSockets;
  if (!free || typeof free !== 'object') return;
  for (const sockets of Object.values(free)) for (const socket of [...(sockets ?? [])]) socket.destroy();
}

/** Closes the keep-alive agents this library created (never the user's own). */
export function closeAuthorizationServerHttp(http: AxiosInstance, options: ResolvedOptions): void {
  if (!options.httpAgent) (http.defaults.httpAgent as HttpAgent).destroy();
  if (!options.httpsAgent) (http.defaults.httpsAgent as HttpsAgent).destroy();
}
