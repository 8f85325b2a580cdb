import { SetMetadata } from '@nestjs/common';
import { RECHECK_KEY } from '../introspection.constants.js';
/**
 * Marks a revocation-sensitive handler or controller for adaptive re-checks: a `fraction` (0–1, default 1)
 * of its cache hits also re-introspect the token in the background. The request itself is answered from
 * cache without waiting; a revocation found evicts the token on every replica, so the next request gets 401.
 * Background lookups are bounded (`cache.revalidation.maxConcurrent`, `maxPerSecond`, one per token at a time)
 * and skipped while the circuit breaker is open. Softer and cheaper than `@RequireIntrospection()`, which makes
 * every request wait for the authorization server. Overrides `cache.revalidation.recheckFraction` on the route.
 */
export function Recheck(fraction = 1) {
    if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
        throw new TypeError(`@Recheck(${String(fraction)}): the fraction of cache hits to re-check must be a number from 0 to 1.`);
    }
    return SetMetadata(RECHECK_KEY, fraction);
}
