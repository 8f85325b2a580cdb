import type { ClaimExpectation } from '../decorators/require-claims.decorator.js';

/**
 * What a location requires of the token, declared by the operator (never read from the request). The same checks as
 * the route decorators of `TokenGuard`: `scopes` is `@Scopes()`, `anyScopes` is `@AnyScope()`, `roles` is `@Roles()`,
 * `anyRoles` is `@AnyRole()`, `claims` is `@RequireClaims()`, `anyClaims` is `@AnyClaim()`, `requireDpop` is
 * `@RequireDpop()`, `requireIntrospection` is `@RequireIntrospection()`, `public` is `@Public()`.
 */
export interface ForwardAuthRequirements {
  /** Every one of these scopes (403 `insufficient_scope` otherwise). */
  scopes?: string[];
  /** At least one of these scopes. */
  anyScopes?: string[];
  /** Every one of these roles (read by the module's `roles` mappers). */
  roles?: string[];
  /** At least one of these roles. */
  anyRoles?: string[];
  /** Claims that must hold these values (a value, a list of accepted values, or a predicate). */
  claims?: Record<string, ClaimExpectation>;
  /** At least one of these claims must hold its value. */
  anyClaims?: Record<string, ClaimExpectation>;
  /** Only DPoP-bound tokens with a proof (the forwarded `DPoP` header). Default false. */
  requireDpop?: boolean;
  /** Always ask the authorization server (revocation-sensitive location): the cache is not read. Default false. */
  requireIntrospection?: boolean;
  /**
   * No token needed: the decision is 200 without identity headers whatever the request carries. Cannot be combined
   * with requirements. Default false.
   */
  public?: boolean;
  /** The audience of the phantom token minted for this location (`upstreamToken`); default `upstreamToken.audience`. */
  audience?: string;
}

/** One upstream location: the requirements of every forwarded path that starts with `prefix`. */
export interface ForwardAuthLocation extends ForwardAuthRequirements {
  /**
   * The path prefix, starting with `/`, matched as gateways match `location /admin` / `PathPrefix(`/admin`)`: as a
   * plain string prefix (`/admin` also covers `/administrator`; write `/admin/` for one segment), case-insensitively,
   * on the normalised (decoded) path. A prefix ending with `/` also covers the path without it (`/admin/` covers
   * `/admin`, which upstreams serve as the same resource). The longest matching prefix wins. Written decoded, without
   * `*`, `?`, `#`, `;`, `%`, whitespace or control characters (a start-up error otherwise).
   */
  prefix: string;
}

/** A phantom token for the upstream on every 200 (the `phantom` option of `IntrospectionModule` must be set). */
export interface ForwardAuthUpstreamToken {
  /**
   * The response header carrying `Bearer <JWT>`. Default `Authorization`: what Traefik (`authResponseHeaders`) and
   * Envoy (`allowed_upstream_headers`) copy onto the upstream request in place of the client's header, and what nginx
   * reads as `$upstream_http_authorization` (`auth_request_set`, then `proxy_set_header Authorization`).
   */
  header?: string;
  /** The phantom token's audience; default the first of `phantom.audiences`. A location's `audience` overrides it. */
  audience?: string;
}

/** The options of `ForwardAuthModule.forRoot()`. */
export interface ForwardAuthOptions {
  /**
   * The decision endpoint's path. It answers any method there and on every path below it (Envoy's ext_authz appends
   * the original path to its `path_prefix`). Default `/auth/decision`.
   */
  path?: string;
  /**
   * The gateways allowed to ask: IPv4/IPv6 addresses and CIDR blocks, checked against the TCP peer address of the
   * decision request (the socket's, never `X-Forwarded-For`). Any other peer gets 403 without a lookup. Default
   * loopback only: `['127.0.0.1/8', '::1']`. `['0.0.0.0/0', '::/0']` trusts every peer (only behind a network policy).
   */
  trustedProxies?: string[];
  /**
   * Where the original request's method and URI come from:
   * - `'x-forwarded'` (default): `X-Forwarded-Method`, `X-Forwarded-Uri` (Traefik ForwardAuth, the nginx configuration
   *   of the docs);
   * - `'x-original'`: `X-Original-Method`, `X-Original-URI` (the nginx `auth_request` convention);
   * - `'path'`: the path below `path` and the decision request's own method (Envoy ext_authz HTTP service).
   * Only that source is read: a header of another convention that a client slipped through is ignored.
   */
  originalRequest?: 'x-forwarded' | 'x-original' | 'path';
  /**
   * The origin clients address (`https://api.example.com`), for DPoP proofs' `htu`. Default: `X-Forwarded-Proto` and
   * `X-Forwarded-Host` as the gateway sets them, else `http` and the `Host` header.
   */
  externalOrigin?: string;
  /** The upstream locations and what each requires; the longest matching prefix wins. Default none. */
  locations?: ForwardAuthLocation[];
  /** What a path no location matches requires. Default `{}`: a valid token, nothing more. */
  defaultRequirements?: Omit<ForwardAuthRequirements, 'audience'>;
  /**
   * Identity headers on a 200: response header name → claim of the introspection result (`scope` is the granted
   * scopes, space-separated; arrays are space-separated; objects are JSON), or `false` to switch a default off.
   * Merged over the defaults `X-Auth-Subject: sub`, `X-Auth-Scopes: scope`, `X-Auth-Client-Id: client_id`,
   * `X-Auth-Username: username`, `X-Auth-Expires: exp` (seconds since the epoch). A header whose claim is absent is
   * not sent; see `maxHeaderBytes` for the sanitisation.
   */
  upstreamHeaders?: Record<string, string | false>;
  /**
   * The longest identity header value sent, bytes. A value that is longer, empty, holds a control character
   * (CR, LF, NUL, …), starts or ends with whitespace, or contains the access token is not sent at all; `%` and
   * non-ASCII characters are percent-encoded (UTF-8), so `decodeURIComponent` gives the claim back. Default 1,024.
   */
  maxHeaderBytes?: number;
  /** A phantom token (`Authorization: Bearer <JWT>`) for the upstream on every 200. Default: none. */
  upstreamToken?: ForwardAuthUpstreamToken;
}
