import { TENANT_NAME, TENANT_OPTION_KEYS, type TenantResolverOptions } from './tenant-options.interface.js';

/** What the tenant checks read of the module options (the composed type lives in the composition root). */
interface TenantsView {
  readonly tenants?: unknown;
  readonly tenantResolver?: unknown;
  readonly cache?: unknown;
  readonly health?: { readonly readiness?: unknown };
  readonly websocket?: unknown;
  readonly microservice?: unknown;
  readonly [option: string]: unknown;
}

const SOURCES = ['header', 'host', 'pathPrefix', 'resolve'] as const;

/**
 * Start-up checks of `tenants`, `tenantResolver` and `health.readiness`, each problem with what to change. Resolves to
 * the tenant names in configuration order (empty when `tenants` is absent or unusable).
 */
export function checkTenants(o: TenantsView, problems: string[]): string[] {
  const readiness = o.health?.readiness;
  if (readiness !== undefined && readiness !== 'all' && readiness !== 'any') {
    problems.push("`health.readiness` must be 'any' (down only when every tenant is, the default) or 'all' (down when any tenant is).");
  }
  if (o.tenants === undefined) {
    if (o.tenantResolver !== undefined) problems.push('`tenantResolver` needs `tenants`: it picks one of them per request.');
    if (readiness !== undefined) problems.push('`health.readiness` applies to `tenants` only: leave it out.');
    return [];
  }
  const tenants = o.tenants;
  if (tenants === null || typeof tenants !== 'object' || Array.isArray(tenants) || Object.keys(tenants).length === 0) {
    problems.push("`tenants` must be an object of at least one tenant, e.g. `{ a: { issuer: 'https://a.example.com', clientId, clientSecret } }`.");
    return [];
  }
  const names = Object.keys(tenants);
  for (const name of names) {
    if (name.endsWith('-evicted')) {
      problems.push(
        `Tenant name '${name}': a name ending in '-evicted' would share the Redis keys of the tenant '${name.slice(0, -8)}' (its revocations): choose another.`,
      );
    }
    if (!TENANT_NAME.test(name)) {
      problems.push(`Tenant name '${name}' must be 1–32 characters of a-z, 0-9, '_' and '-' (it becomes a metric label and a Redis key part).`);
    }
    const tenant = (tenants as Record<string, unknown>)[name];
    if (tenant === null || typeof tenant !== 'object' || Array.isArray(tenant)) {
      problems.push(`\`tenants.${name}\` must be an object: the tenant's authorization server (issuer or introspectionEndpoint, clientId, …).`);
      continue;
    }
    for (const key of Object.keys(tenant)) {
      if (!(TENANT_OPTION_KEYS as readonly string[]).includes(key)) {
        problems.push(`\`tenants.${name}.${key}\` is not a per-tenant option: set it at the top level (every tenant shares it).`);
      }
    }
  }
  const shadowed = TENANT_OPTION_KEYS.filter((key) => o[key] !== undefined);
  if (shadowed.length > 0) {
    problems.push(
      `With \`tenants\`, each tenant has its own ${shadowed.map((k) => `\`${k}\``).join(', ')}: ` +
        `move ${shadowed.length > 1 ? 'them' : 'it'} from the top level into \`tenants.<name>\` (a top-level value would be ambiguous).`,
    );
  }
  if ((o.cache as { store?: unknown } | undefined)?.store !== undefined) {
    problems.push(
      '`cache.store` cannot be shared by `tenants` (a purge would reach every tenant): use `cache.redis`, which keeps each tenant in its own namespace.',
    );
  }
  if (o.websocket !== undefined || o.microservice !== undefined) {
    problems.push(
      '`websocket` and `microservice` are not supported with `tenants` yet: a connection or message carries no request to pick the tenant from. ' +
        'Authenticate them with `IntrospectionService.introspect(token, { tenant })` in your gateway or handler.',
    );
  }
  if (o.backchannelLogout !== undefined && o.backchannelLogout !== false) {
    problems.push(
      '`backchannelLogout` is not supported with `tenants` yet: its receiver verifies logout tokens of one OpenID Provider. ' +
        "Call `IntrospectionService.evictBySession(sid, { sub }, { tenant })` from each provider's logout handler instead.",
    );
  }
  checkResolver(o.tenantResolver, new Set(names), problems);
  return names;
}

function checkResolver(value: unknown, names: ReadonlySet<string>, problems: string[]): void {
  if (value === undefined) {
    problems.push(
      "`tenants` needs `tenantResolver`: `{ header: 'x-tenant' }` (set by a trusted gateway), `{ host: { … } }`, `{ pathPrefix: { … } }`, " +
        'a function of the request, and/or `{ jwtIssuer: true }`.',
    );
    return;
  }
  if (typeof value === 'function') return;
  if (value === null || typeof value !== 'object') {
    problems.push('`tenantResolver` must be an object (`header`, `host`, `pathPrefix`, `resolve`, `jwtIssuer`) or a function of the request.');
    return;
  }
  const r = value as TenantResolverOptions;
  const given = SOURCES.filter((key) => r[key] !== undefined);
  if (given.length > 1) problems.push(`\`tenantResolver\` has ${given.map((k) => `\`${k}\``).join(' and ')}: give one of them (and \`jwtIssuer\` if wanted).`);
  if (r.jwtIssuer !== undefined && typeof r.jwtIssuer !== 'boolean') problems.push('`tenantResolver.jwtIssuer` must be true or false.');
  if (given.length === 0 && r.jwtIssuer !== true)
    problems.push('`tenantResolver` must give one of `header`, `host`, `pathPrefix`, `resolve`, or `jwtIssuer: true`.');
  if (r.header !== undefined && (typeof r.header !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(r.header))) {
    problems.push("`tenantResolver.header` must be a header name, e.g. 'x-tenant'.");
  }
  if (r.resolve !== undefined && typeof r.resolve !== 'function') problems.push('`tenantResolver.resolve` must be a function of the request.');
  checkMap('host', r.host, names, problems, (host) => /^[a-z0-9.-]+$/i.test(host) || 'a host name without port or scheme');
  checkMap('pathPrefix', r.pathPrefix, names, problems, (prefix) => (prefix.startsWith('/') && prefix.endsWith('/')) || "a path that starts and ends with '/'");
}

function checkMap(key: 'host' | 'pathPrefix', map: unknown, names: ReadonlySet<string>, problems: string[], shape: (k: string) => true | string): void {
  if (map === undefined) return;
  if (map === null || typeof map !== 'object' || Array.isArray(map) || Object.keys(map).length === 0) {
    problems.push(`\`tenantResolver.${key}\` must be a non-empty object of ${key === 'host' ? 'host' : 'path prefix'} → tenant name.`);
    return;
  }
  const seen = new Map<string, string>();
  for (const [k, tenant] of Object.entries(map as Record<string, unknown>)) {
    // Compared without case (and a host without a trailing dot), as requests are matched.
    const same = seen.get(k.replace(/\.$/, '').toLowerCase());
    if (same !== undefined) problems.push(`\`tenantResolver.${key}\` has '${same}' and '${k}', which requests cannot tell apart: keep one.`);
    seen.set(k.replace(/\.$/, '').toLowerCase(), k);
    const ok = shape(k);
    if (ok !== true) problems.push(`\`tenantResolver.${key}\` key '${k}' must be ${ok}.`);
    if (typeof tenant !== 'string' || !names.has(tenant)) problems.push(`\`tenantResolver.${key}['${k}']\` names '${String(tenant)}', which is not a tenant.`);
  }
}
