import type { ModuleRef } from '@nestjs/core';
import { CacheSharedState } from './cache/cache-shared-state.js';
import { createIntrospectionCache } from './cache/create-cache.js';
import type { IntrospectionCache } from './cache/introspection.cache.js';
import type { IntrospectionClient } from './client/introspection.client.js';
import { IntrospectionHealthIndicator } from './health/introspection.health.js';
import { IntrospectionService } from './introspection.service.js';
import { createJwtPath, createResponseOpener } from './jwt/jwt.providers.js';
import { createAuthorizationServerKeys } from './keys/keys.providers.js';
import type { ResolvedOptions } from './options/resolved-options.js';
import type { ProofVerifier } from './ports.js';
import { ResiliencePolicy } from './resilience/resilience.policy.js';
import { IntrospectionTelemetry } from './telemetry/introspection.telemetry.js';

/**
 * Part of the composition root (it names the jwt and keys capabilities): each tenant's engine built from the tenant's
 * resolved options exactly as `IntrospectionModule`'s providers build the single engine — its own client (discovery,
 * own-token credentials), resilience policy (circuit breaker, bulkhead), single-flight, cache (in process, and its own
 * Redis namespace and connection), keys, JWT path, telemetry (labelled with the tenant) and health indicator.
 */

/** Each tenant's cache, by name (built first: the module's shared state uses the first tenant's), or null without tenants. */
export async function createTenantCaches(root: ResolvedOptions): Promise<ReadonlyMap<string, IntrospectionCache | null> | null> {
  if (!root.tenants) return null;
  const caches = new Map<string, IntrospectionCache | null>();
  for (const [name, options] of root.tenants.options) caches.set(name, await createIntrospectionCache(options));
  return caches;
}

/** What each tenant's engine is made of that the module also needs: its service and its health indicator. */
export interface TenantEngine {
  readonly service: IntrospectionService;
  readonly health: IntrospectionHealthIndicator;
}

/**
 * Each tenant's engine, by name, or null without tenants. The DPoP verifier is the module's (proofs are not per tenant);
 * each client is made by the module's (`forTenant`), so a test kit that replaces the module's client replaces every tenant's.
 */
export async function createTenantEngines(
  root: ResolvedOptions,
  caches: ReadonlyMap<string, IntrospectionCache | null> | null,
  dpop: ProofVerifier | null,
  moduleRef: ModuleRef,
  moduleClient: IntrospectionClient,
): Promise<ReadonlyMap<string, TenantEngine> | null> {
  if (!root.tenants || !caches) return null;
  const engines = new Map<string, TenantEngine>();
  for (const [name, options] of root.tenants.options) {
    const cache = caches.get(name) ?? null;
    const telemetry = await new IntrospectionTelemetry(options).init();
    const client = moduleClient.forTenant(options);
    const resilience = new ResiliencePolicy(options.resilience);
    const keys = createAuthorizationServerKeys(options, client);
    createResponseOpener(options, client, keys);
    const jwt = createJwtPath(options, keys, cache, cache?.sharedState ?? new CacheSharedState());
    engines.set(name, {
      service: new IntrospectionService(options, cache, resilience, client, telemetry, jwt, dpop, null),
      health: new IntrospectionHealthIndicator(options, client, resilience, moduleRef, keys),
    });
  }
  return engines;
}
