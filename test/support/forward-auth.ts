import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { IntrospectionModule, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ForwardAuthModule, type ForwardAuthOptions } from '../../lib/forward-auth/index.js';
import { startApp, type AdapterName } from './app.js';

/** The decision endpoint's answer as a gateway sees it. */
export interface Decision {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** The original request a client sent to the gateway. */
export interface OriginalRequest {
  method?: string;
  /** Path and query as the client sent them (`$request_uri`). */
  uri: string;
  /** The client's headers, copied by the gateway (Authorization, DPoP, anything the client chose to send). */
  headers?: Record<string, string>;
  host?: string;
  proto?: string;
}

export const GATEWAY_HOST = 'api.example.com';

/** A real HTTP/1.1 request with exactly these headers (Host included, which fetch forbids); never follows redirects. */
export function rawRequest(url: string, method: string, path: string, headers: OutgoingHttpHeaders): Promise<Decision> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let parsed: any = body;
        try {
          parsed = body === '' ? '' : JSON.parse(body);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * How each gateway asks the decision endpoint about `original` (`decision` = the endpoint's URL):
 * - `nginx`: `auth_request` subrequest, GET without a body, with the headers of the configuration we ship
 *   (`X-Forwarded-Method`/`-Uri`/`-Proto`/`-Host`) and the client's headers copied;
 * - `nginxOriginal`: the same with the `X-Original-Method`/`X-Original-URI` convention (`originalRequest: 'x-original'`);
 * - `traefik`: ForwardAuth: GET with `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`, `-For` and the client's headers;
 * - `envoy`: ext_authz HTTP service: the original method, path = path_prefix + the original path and query, the
 *   original Host, only the allowed headers (Authorization, DPoP).
 */
export const gateways = {
  nginx: (decision: string, original: OriginalRequest, method = 'GET') =>
    rawRequest(decision, method, new URL(decision).pathname, {
      ...original.headers,
      host: '127.0.0.1',
      'x-forwarded-method': original.method ?? 'GET',
      'x-forwarded-uri': original.uri,
      'x-forwarded-proto': original.proto ?? 'https',
      'x-forwarded-host': original.host ?? GATEWAY_HOST,
    }),
  nginxOriginal: (decision: string, original: OriginalRequest, method = 'GET') =>
    rawRequest(decision, method, new URL(decision).pathname, {
      ...original.headers,
      host: '127.0.0.1',
      'x-original-method': original.method ?? 'GET',
      'x-original-uri': original.uri,
    }),
  traefik: (decision: string, original: OriginalRequest) =>
    rawRequest(decision, 'GET', new URL(decision).pathname, {
      ...original.headers,
      host: new URL(decision).host,
      'x-forwarded-method': original.method ?? 'GET',
      'x-forwarded-proto': original.proto ?? 'https',
      'x-forwarded-host': original.host ?? GATEWAY_HOST,
      'x-forwarded-uri': original.uri,
      'x-forwarded-for': '203.0.113.7',
    }),
  envoy: (decision: string, original: OriginalRequest) => {
    const allowed: Record<string, string> = {};
    for (const [name, value] of Object.entries(original.headers ?? {})) if (/^(authorization|dpop)$/i.test(name)) allowed[name] = value;
    return rawRequest(decision, original.method ?? 'GET', new URL(decision).pathname + original.uri, {
      ...allowed,
      host: original.host ?? GATEWAY_HOST,
      'x-forwarded-proto': original.proto ?? 'https',
      'content-length': '0',
    });
  },
};

export type GatewayName = 'nginx' | 'nginxOriginal' | 'traefik' | 'envoy';
/** Each gateway with the `originalRequest` setting its protocol needs. */
export const GATEWAYS: Array<[GatewayName, ForwardAuthOptions['originalRequest']]> = [
  ['nginx', 'x-forwarded'],
  ['nginxOriginal', 'x-original'],
  ['traefik', 'x-forwarded'],
  ['envoy', 'path'],
];

/** An application with `IntrospectionModule` (as `introspection` says) and `ForwardAuthModule.forRoot(forwardAuth)`, listening on 127.0.0.1. */
export async function startDecisionApp(
  adapter: AdapterName,
  introspection: IntrospectionModuleOptions & { phantomJwksPath?: string },
  forwardAuth: ForwardAuthOptions,
): Promise<{ app: INestApplication; url: string; decision: string }> {
  const { phantomJwksPath, ...options } = introspection;
  const module = IntrospectionModule.forRoot({ verifyOnStartup: false, ...options, ...(phantomJwksPath ? { phantomJwksPath } : {}) });
  const { app, url } = await startApp(adapter, module, [], [ForwardAuthModule.forRoot(forwardAuth)]);
  return { app, url, decision: url + (forwardAuth.path ?? '/auth/decision') };
}

/** The identity headers of a decision (`x-auth-*`, and `authorization`): none may be present on a refusal. */
export function identityOf(decision: Decision): Record<string, unknown> {
  return Object.fromEntries(Object.entries(decision.headers).filter(([name]) => name.startsWith('x-auth-') || name === 'authorization'));
}
