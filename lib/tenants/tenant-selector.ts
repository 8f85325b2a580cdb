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
  return (request, token) => {
    const named = fromRequest?.(request);
    // A path routers disagree on is placed nowhere: never at the tenant the token itself names.
    if (named === UNPLACEABLE) return undefined;
    return known_(named) ?? (token === undefined ? undefined : issuers.get(unverifiedIssuer(token) ?? ''));
  };
}

/** What a request source answers for a request it must not place anywhere (not even by the token's `iss`). */
const UNPLACEABLE = Symbol('unplaceable');

/**
 * The path a router matches, for the path-prefix resolver: percent-decoded (Fastify routes on the decoded path), runs of
 * `/` collapsed (Fastify's `ignoreDuplicateSlashes`) and lower-cased (Express routes ignore case), so a request routed
 * to a tenant's handler is placed at that tenant however its path is spelt. An encoded `/` or `\`, a backslash, a dot
 * segment or a malformed escape, which routers and proxies resolve differently, and a target that is not origin-form or
 * holds a fragment (`#`): UNPLACEABLE.
 */
function routedPath(url: string): string | typeof UNPLACEABLE {
  // Only an origin-form target ('/…') without a fragment: routers take the path out of an absolute URL and cut it at '#'.
  if (!url.startsWith('/') || url.includes('#')) return UNPLACEABLE;
  const query = url.indexOf('?');
  const raw = query < 0 ? url : url.slice(0, query);
  if (/%2f|%5c|\\/i.test(raw)) return UNPLACEABLE;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return UNPLACEABLE;
  }
  const path = decoded.replace(/\/{2,}/g, '/');
  return /(^|\/)\.{1,2}(\/|$)/.test(path) ? UNPLACEABLE : path.toLowerCase();
}

/** The operator-controlled part of the resolver, or undefined when only `jwtIssuer` is configured. */
function requestSource(options: TenantResolverOptions): ((request: any) => unknown) | undefined {
  if (options.header !== undefined) {
    const name = options.header.toLowerCase();
    return (request) => {
      const value: unknown = request?.headers?.[name];
      return typeof value === 'string' ? value : undefined;
    };
  }
  if (options.host !== undefined) {
    const hosts = new Map(Object.entries(options.host).map(([host, tenant]) => [host.replace(/\.$/, '').toLowerCase(), tenant]));
    return (request) => {
      const host: unknown = request?.headers?.host;
      // Without the port and a trailing dot (`b.example.com.` is the same DNS name), any case.
      return typeof host === 'string' ? hosts.get(host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase()) : undefined;
    };
  }
  if (options.pathPrefix !== undefined) {
    // Longest prefix first: '/a/b/' wins over '/a/'. Compared as routers match (see routedPath).
    const prefixes = Object.entries(options.pathPrefix)
      .map(([prefix, tenant]) => [prefix.toLowerCase(), tenant] as const)
      .sort(([a], [b]) => b.length - a.length);
    return (request) => {
      const url: unknown = request?.originalUrl ?? request?.url;
      if (typeof url !== 'string') return undefined;
      const path = routedPath(url);
      if (path === UNPLACEABLE) return UNPLACEABLE;
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
