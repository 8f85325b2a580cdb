import type { TenantRequestResolver, TenantResolverOptions } from './tenant-options.interface.js';

/** The tenant of a request (and, with `jwtIssuer`, of its token), or undefined when it cannot be placed. */
export type TenantSelector = (request: any, token: string | undefined) => string | undefined;

/**
 * Compiles `tenantResolver` once, at start-up. `known` are the configured tenant names (anything else counts as no
 * tenant); `issuers` maps each tenant's issuer to its name, for `jwtIssuer`. Never throws at request time: a resolver
 * function that throws places the request nowhere.
 */
export function compileTenantSelector(
  config: TenantResolverOptions | TenantRequestResolver,
  known: ReadonlySet<string>,
  issuers: ReadonlyMap<string, string>,
): TenantSelector {
  const options: TenantResolverOptions = typeof config === 'function' ? { resolve: config } : config;
  const fromRequest = requestSource(options);
  const known_ = (name: unknown): string | undefined => (typeof name === 'string' && known.has(name) ? name : undefined);
  if (!options.jwtIssuer) return (request) => known_(fromRequest?.(request));
  return (request, token) => known_(fromRequest?.(request)) ?? (token === undefined ? undefined : issuers.get(unverifiedIssuer(token) ?? ''));
}

/** The operator-controlled part of the resolver, or undefined when only `jwtIssuer` is configured. */
function requestSource(options: TenantResolverOptions): TenantRequestResolver | undefined {
  if (options.header !== undefined) {
    const name = options.header.toLowerCase();
    return (request) => {
      const value: unknown = request?.headers?.[name];
      return typeof value === 'string' ? value : undefined;
    };
  }
  if (options.host !== undefined) {
    const hosts = new Map(Object.entries(options.host).map(([host, tenant]) => [host.toLowerCase(), tenant]));
    return (request) => {
      const host: unknown = request?.headers?.host;
      return typeof host === 'string' ? hosts.get(host.replace(/:\d+$/, '').toLowerCase()) : undefined;
    };
  }
  if (options.pathPrefix !== undefined) {
    // Longest prefix first: '/a/b/' wins over '/a/'.
    const prefixes = Object.entries(options.pathPrefix).sort(([a], [b]) => b.length - a.length);
    return (request) => {
      const url: unknown = request?.originalUrl ?? request?.url;
      if (typeof url !== 'string') return undefined;
      const query = url.indexOf('?');
      const path = query < 0 ? url : url.slice(0, query);
      // '/a' (no trailing slash) is the prefix '/a/' too.
      const slashed = path.endsWith('/') ? path : `${path}/`;
      return prefixes.find(([prefix]) => slashed.startsWith(prefix))?.[1];
    };
  }
  const resolve = options.resolve;
  if (resolve === undefined) return undefined;
  return (request) => {
    try {
      return resolve(request);
    } catch {
      return undefined;
    }
  };
}

/** The `iss` claim of a JWT-shaped token, unverified (used only to choose among configured issuers), or undefined. */
export function unverifiedIssuer(token: string): string | undefined {
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
    const iss = (payload as { iss?: unknown } | null)?.iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}
