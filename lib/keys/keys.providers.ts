import type { Provider } from '@nestjs/common';
import { IntrospectionClient } from '../client/introspection.client.js';
import { AUTHORIZATION_SERVER_KEYS, RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { ResiliencePolicy } from '../resilience/resilience.policy.js';
import { AuthorizationServerKeys } from './authorization-server-keys.js';

/**
 * The AS's keys, when local JWT validation or RFC 9701 needs them, else null: the module's (`keysProviders`) and each
 * tenant's (built by the composition root from the tenant's options and client).
 */
export function createAuthorizationServerKeys(options: ResolvedOptions, client: IntrospectionClient): AuthorizationServerKeys | null {
  if (!options.keys) return null;
  // Its own policies and breaker (same settings): a key endpoint in trouble must not stop the
  // introspection of opaque tokens at an endpoint that works, nor the other way round.
  return new AuthorizationServerKeys(
    options.keys,
    options.resilience.retryAfterSeconds,
    options.resilience.attemptTimeoutMs,
    client.http,
    new ResiliencePolicy(options.resilience),
    client.endpoints,
  );
}

/** The AS's keys (`AUTHORIZATION_SERVER_KEYS`, also the health indicator's `HealthContributor`), when local JWT validation or RFC 9701 needs them. */
export const keysProviders: Provider[] = [
  {
    provide: AUTHORIZATION_SERVER_KEYS,
    useFactory: createAuthorizationServerKeys,
    inject: [RESOLVED_OPTIONS, IntrospectionClient],
  },
];
