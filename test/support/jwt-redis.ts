import type { IntrospectionModuleOptions } from '../../lib/index.js';
import { CLIENTS, TestAuthorizationServer } from './authorization-server.js';
import { TestRedis } from './redis-server.js';

/**
 * For the JWT revocation suites across replicas: a real authorization server, a real Redis, and the options of an
 * API replica that validates the AS's JWTs locally (RS256, for `audience`) and keeps its revocation marks in that
 * Redis, plus `extra` (e.g. `clockSkewSeconds`). The caller starts the replicas and stops all of it.
 */
export async function startLocalJwtWithRedis(audience: string, extra: Partial<IntrospectionModuleOptions> = {}) {
  const as = await TestAuthorizationServer.start();
  const redis = await TestRedis.start();
  const options: IntrospectionModuleOptions = {
    issuer: as.issuer,
    ...CLIENTS.basic,
    allowInsecureRequests: true,
    audience,
    jwt: { mode: 'local', algorithms: ['RS256'] },
    cache: { redis: redis.url },
    ...extra,
  };
  return { as, redis, options };
}
