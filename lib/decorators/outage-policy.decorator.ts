import { SetMetadata } from '@nestjs/common';
import { OUTAGE_POLICY_KEY } from '../introspection.constants.js';

/**
 * What a protected route does when the authorization server cannot answer.
 * - `fail-closed`: 503 with Retry-After (the default).
 * - `serve-stale`: the last known *active* result within `cache.staleIfErrorSeconds` (never past
 *   the token's `exp`), flagged `stale: true`; else 503.
 * - `fail-open`: the request proceeds without a principal (`request.user` stays unset) and
 *   `request.introspectionOutage` describes the outage — for routes that can live without identity.
 */
export type OutagePolicy = 'fail-closed' | 'serve-stale' | 'fail-open';

/** Overrides the module's `outagePolicy` for a handler or a controller (handler wins). */
export function OutagePolicy(policy: OutagePolicy): ClassDecorator & MethodDecorator {
  if (!['fail-closed', 'serve-stale', 'fail-open'].includes(policy)) {
    throw new Error(`@OutagePolicy() takes 'fail-closed', 'serve-stale' or 'fail-open'; got ${JSON.stringify(policy)}.`);
  }
  return SetMetadata(OUTAGE_POLICY_KEY, policy);
}
