import type { Provider } from '@nestjs/common';
import type { IntrospectionCache } from '../cache/introspection.cache.js';
import { INTROSPECTION_CACHE, DPOP_VERIFIER, RESOLVED_OPTIONS } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { DpopVerifier } from './dpop.verifier.js';

/** DPoP proofs (RFC 9449) as the engine's `ProofVerifier` (`DPOP_VERIFIER`); the replay check shares the cache's Redis when there is one. */
export const dpopProviders: Provider[] = [
  {
    provide: DPOP_VERIFIER,
    useFactory: (options: ResolvedOptions, cache: IntrospectionCache | null) => (options.dpop ? new DpopVerifier(options.dpop, cache) : null),
    inject: [RESOLVED_OPTIONS, INTROSPECTION_CACHE],
  },
];
