import { DpopProofError } from '../errors/introspection.errors.js';
import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { PresentationRefusal, PresentationTarget, PresentationVerifier, ProofVerifier, VerifiedDpopProof } from '../ports.js';

/**
 * The DPoP scheme at the HTTP guard (RFC 9449 §7): the request's `DPoP` header is verified before the token is
 * looked up, and recorded as used once the token is accepted. Registered by the composition root (`providePresentation`)
 * and built by every `TokenGuard` whose options turn DPoP on, on the proof methods of the engine it was given: a
 * subclassed or hand-built guard keeps DPoP, and an engine that overrides `verifyDpopProof()` is honoured.
 */
export class DpopPresentation implements PresentationVerifier {
  constructor(private readonly proofs: ProofVerifier) {}

  /** RFC 9449 §4.3: exactly one `DPoP` header holding a valid proof for this request and token. */
  async verify(request: any, token: string, target: PresentationTarget): Promise<{ presentation: TokenPresentation; proof: VerifiedDpopProof }> {
    // Node joins repeated headers with ", ": a compact JWS holds neither a comma nor a space.
    const proof: unknown = request.headers?.dpop;
    if (typeof proof !== 'string' || proof.length === 0 || /[,\s]/.test(proof)) {
      throw new DpopProofError('invalid_dpop_proof', 'Send exactly one DPoP header with a DPoP proof.');
    }
    const verified = await this.proofs.verify(proof, { method: request.method, uri: target.uri(), accessToken: token });
    return { presentation: { scheme: 'dpop', dpopJkt: verified.jkt, certificateThumbprint: target.certificateThumbprint() }, proof: verified };
  }

  /** Records the proof of an accepted token (jti replay check across replicas); rejects on a replay. */
  consume(proof: VerifiedDpopProof): Promise<void> {
    return this.proofs.consume(proof);
  }

  /** 401 `invalid_dpop_proof` / `use_dpop_nonce` (RFC 9449 §7.1), with a fresh `DPoP-Nonce` when nonces are on. */
  refusal(error: unknown): PresentationRefusal {
    const expected = error instanceof DpopProofError;
    const refusal = expected ? error : new DpopProofError('invalid_dpop_proof', 'The DPoP proof could not be verified.');
    const nonce = this.proofs.currentNonce();
    return { error: refusal.error, description: refusal.message, headers: nonce ? { 'DPoP-Nonce': nonce } : {}, unexpected: !expected };
  }
}
