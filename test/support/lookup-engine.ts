import { AuthorizationServerUnavailableError, type IntrospectionModuleOptions, type IntrospectionService } from '../../lib/index.js';
import { CLIENTS } from './authorization-server.js';
import { createEngine } from './engine.js';

/**
 * An engine for the breaker and stale-connection suites: the real AS client (CLIENTS.basic) against
 * `introspectionEndpoint` (a proxy in front of the AS), no cache, so every call is a lookup, no metrics, and the
 * given resilience options (else the defaults). Its `close` is pushed onto `cleanups`.
 */
export async function lookupEngine(
  introspectionEndpoint: string,
  cleanups: Array<() => Promise<unknown>>,
  resilience?: IntrospectionModuleOptions['resilience'],
): Promise<IntrospectionService> {
  const { service, close } = await createEngine({
    introspectionEndpoint,
    allowInsecureRequests: true,
    ...CLIENTS.basic,
    cache: false,
    metrics: false,
    ...(resilience ? { resilience } : {}),
  });
  cleanups.push(close);
  return service;
}

/** How one lookup ended: 'active', 'inactive', the outage's reason (AuthorizationServerUnavailableError), or the error as text. */
export const reasonOf = (service: IntrospectionService, token: string) =>
  service.introspect(token).then(
    (r) => (r.active ? 'active' : 'inactive'),
    (e: unknown) => (e instanceof AuthorizationServerUnavailableError ? e.reason : String(e)),
  );
