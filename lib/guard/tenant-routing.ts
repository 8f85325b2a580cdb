import type { IntrospectionService } from '../introspection.service.js';
import type { ResolvedTenants } from '../options/resolved-options.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import type { Challenges, GuardRefusal } from './challenges.js';

/** With `tenants`: the tenant each request was placed at (the guard's decisions are counted with it). */
const requestTenants = new WeakMap<object, string>();

/**
 * With `tenants`: the service of the tenant a request names (`tenantResolver`; with `jwtIssuer`, a JWT's unverified
 * `iss` among the configured issuers), or undefined when it names none — then nothing is looked up anywhere.
 */
export function tenantService(
  introspection: IntrospectionService,
  tenants: ResolvedTenants,
  request: unknown,
  token: string,
): IntrospectionService | undefined {
  const name = tenants.select(request, token);
  if (name === undefined) return undefined;
  requestTenants.set(request as object, name);
  return introspection.tenant(name);
}

/** The tenant `tenantService()` placed a request at, if any: a configured name (a bounded metric label). */
export function requestTenant(request: unknown): string | undefined {
  return requestTenants.get(request as object);
}

/** A request that names no tenant: 401 `invalid_token` (RFC 6750 §3.1), counted and reported like any refused token. */
export function unknownTenant(
  challenges: Challenges,
  token: string,
  scheme: 'bearer' | 'dpop',
  requireDpop: boolean,
  telemetry: IntrospectionTelemetry | undefined,
): GuardRefusal {
  telemetry?.decision('invalid', 'unknown_tenant');
  if (telemetry?.events.onTokenRejected) telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: 'unknown_tenant' });
  return challenges.inactive('unknown_tenant', scheme, requireDpop);
}
