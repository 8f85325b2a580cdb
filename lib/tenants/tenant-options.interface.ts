/**
 * Picks the tenant of a request from what the operator controls (never from the token's own content): return a
 * configured tenant name, or undefined when the request names none (then 401 `invalid_token`, no outbound call).
 * The request is the adapter's (Express or Fastify); a name that is not configured counts as none.
 */
export type TenantRequestResolver = (request: any) => string | undefined;

/**
 * How `TokenGuard` picks the tenant of a request (`tenantResolver`). Give one of `header`, `host`, `pathPrefix` or
 * `resolve`; `jwtIssuer: true` may come alone or beside one of them. Requests the resolver cannot place are refused
 * with 401 `invalid_token` before any lookup.
 */
export interface TenantResolverOptions {
  /**
   * A request header set by a trusted gateway (e.g. `'x-tenant'`), holding the tenant name. The gateway must
   * overwrite (or strip) the header on every request, so a client cannot choose it.
   */
  header?: string;
  /** The `Host` header (port and case ignored) → tenant name, e.g. `{ 'a.example.com': 'a' }`. `X-Forwarded-Host` is not read. */
  host?: Record<string, string>;
  /**
   * A path prefix → tenant name, e.g. `{ '/a/': 'a', '/b/': 'b' }`: the longest prefix of the request's path (as sent,
   * not decoded; case-sensitive) wins. Each prefix starts and ends with '/'.
   */
  pathPrefix?: Record<string, string>;
  /** A function of the request (see `TenantRequestResolver`). */
  resolve?: TenantRequestResolver;
  /**
   * For JWT access tokens: when the request alone names no tenant, the token's unverified `iss` may select the tenant
   * whose issuer (`jwt.issuer`, `expectedIssuer` or `issuer`) it equals — among the configured tenants only; the token
   * is then verified with that tenant's keys and issuer. An opaque token's content is never read. Default false.
   */
  jwtIssuer?: boolean;
}

/**
 * When the readiness probe of a multi-tenant API is down: `'any'` (default) only when every tenant's authorization server
 * is (one tenant's outage must not take the API out of rotation for the others: it reports `degraded`), `'all'` when any one is.
 */
export type TenantReadiness = 'all' | 'any';

/** A tenant name: lower-case letters, digits, `_` and `-`, 1–32 characters (it becomes a metric label and a Redis key part). */
export const TENANT_NAME = /^[a-z0-9_-]{1,32}$/;

/**
 * The options that describe one authorization server and our place there: set per tenant (`tenants`), and refused at
 * the top level when `tenants` is set (a top-level value would be ambiguous). Every other option is a default the
 * tenants share (cache, resilience, outage policy, token sources, …).
 */
export const TENANT_OPTION_KEYS = [
  'introspectionEndpoint',
  'issuer',
  'clientId',
  'clientSecret',
  'clientAuthMethod',
  'privateKey',
  'privateKeyAlgorithm',
  'privateKeyId',
  'tokenEndpoint',
  'tokenScope',
  'audience',
  'expectedIssuer',
  'requireTokenType',
  'clientSecretBasicEncoding',
  'jwt',
  'signedIntrospection',
] as const;
