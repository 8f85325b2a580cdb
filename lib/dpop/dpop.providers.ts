import type { Provider } from '@nestjs/common';
import type { SharedState } from '../cache/shared-state.js';
import { DPOP_VERIFIER, RESOLVED_OPTIONS, SHARED_STATE } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { DpopVerifier } from './dpop.verifier.js';

/** DPoP proofs (RFC 9449) as the engine's `ProofVerifier` (`DPOP_VERIFIER`); the replay check shares the cache's Redis when there is one. */
export const dpopProviders: Provider[] = [
  {
    provide: DPOP_VERIFIER,
    useFactory: (options: ResolvedOptions, state: SharedState) => (options.dpop ? new DpopVerifier(options.dpop, state) : null),
    inject: [RESOLVED_OPTIONS, SHARED_STATE],
  },
];
