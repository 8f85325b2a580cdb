import { defaultKeyPrefix } from '../options/resolve-cache-options.js';

/** What the tenant view reads of the module options. */
interface ModuleView {
  readonly tenants?: unknown;
  readonly cache?: unknown;
}

/**
 * One tenant's options as one authorization server's: the top-level options (the defaults every tenant shares) with
 * the tenant's own on top, and the shared store's namespace and eviction channel made the tenant's own
 * (`<keyPrefix>:<tenant>`, `<channel>:<tenant>`), so the same token at two tenants is two entries and an eviction or
 * purge at one never reaches the other. Resolved like the options of a single-tenant module.
 */
export function tenantView<T extends ModuleView>(o: T, name: string): T {
  const tenant = (o.tenants as Record<string, Record<string, unknown>>)[name];
  const view: Record<string, unknown> = { ...(o as Record<string, unknown>), ...tenant, tenants: undefined, tenantResolver: undefined };
  if (o.cache !== false) {
    const cache = (o.cache ?? {}) as { keyPrefix?: unknown; redis?: unknown };
    const namespace = `${String(tenant.introspectionEndpoint ?? tenant.issuer)}\u0000${String(tenant.clientId)}`;
    const prefix = typeof cache.keyPrefix === 'string' ? cache.keyPrefix.replace(/:+$/, '') : defaultKeyPrefix(namespace);
    const redis = cache.redis as { channel?: unknown } | undefined;
    view.cache = {
      ...cache,
      // A keyPrefix of the wrong type is kept as it is, for the cache options' check to report.
      keyPrefix: cache.keyPrefix === undefined || typeof cache.keyPrefix === 'string' ? `${prefix}:${name}` : cache.keyPrefix,
      ...(redis !== null && typeof redis === 'object' && typeof redis.channel === 'string' ? { redis: { ...redis, channel: `${redis.channel}:${name}` } } : {}),
    };
  }
  return view as T;
}
