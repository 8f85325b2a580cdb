/**
 * DPoP (RFC 9449) and certificate-bound tokens: `verifyDpopProof(proof, { method, uri, accessToken }, policy)` checks a
 * proof for custom transports (all but replay and nonce) and resolves to its key thumbprint; `DpopProofError` carries the
 * RFC error code; `@RequireDpop()` accepts only DPoP-bound tokens with a proof on a route.
 * The public names of the dpop capability; the root entry point re-exports them.
 */
export { DpopProofError, accessTokenHash, verifyDpopProof } from './dpop-proof.js';
export type { DpopProofPolicy, DpopRequestContext, VerifiedDpopProof } from './dpop-proof.js';
export { RequireDpop } from '../decorators/require-dpop.decorator.js';
export type { DpopModuleOptions, DpopOptions, MtlsOptions } from './dpop-options.interface.js';
