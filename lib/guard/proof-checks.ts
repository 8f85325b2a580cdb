import { HttpStatus } from '@nestjs/common';
import { DpopProofError } from '../errors/introspection.errors.js';
import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { IntrospectionService } from '../introspection.service.js';
import type { PresentationRefusal, PresentationTarget, PresentationVerifier, ProofVerifier, VerifiedDpopProof } from '../ports.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import type { TokenRejectedEvent } from '../telemetry/introspection-events.interface.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import type { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { Challenges, GuardRefusal } from './challenges.js';

export type { GuardRefusal };

/**
 * The proof methods of the engine a guard was given, as the `ProofVerifier` its DPoP side works on: read at each call,
 * so an engine that overrides `verifyDpopProof()` / `consumeDpopProof()` / `dpopNonce` (a subclass, a test stub) is honoured.
 */
export function engineProofs(introspection: IntrospectionService): ProofVerifier {
  return {
    verify: (proof, request) => introspection.verifyDpopProof(proof, request),
    consume: (proof) => introspection.consumeDpopProof(proof),
    currentNonce: () => introspection.dpopNonce,
  };
}

/**
 * The guard's side of a proof-of-possession scheme (`Authorization: DPoP`): the capability's `PresentationVerifier`
 * verifies and records proofs; this turns its refusals into 401 answers (RFC 9449 §7.1). Never a 500.
 */
export class ProofChecks {
  constructor(
    private readonly proofs: PresentationVerifier | undefined,
    private readonly challenges: Challenges,
    private readonly log: RateLimitedLogger,
    private readonly telemetry: IntrospectionTelemetry | undefined,
  ) {}

  /** RFC 9449 §4.3: the request's proof for its target and this token, or the refusal (whatever throws: never a 500). */
  async verify(
    request: any,
    token: string,
    target: PresentationTarget,
    requireDpop: boolean,
  ): Promise<{ presentation: TokenPresentation; proof: VerifiedDpopProof } | GuardRefusal> {
    try {
      if (!this.proofs) throw new DpopProofError('invalid_dpop_proof', 'DPoP is turned off (`dpop: false`).');
      return await this.proofs.verify(request, token, target);
    } catch (error) {
      return this.refusal(error, token, requireDpop);
    }
  }

  /** Records the proof of an accepted token (jti replay check across replicas); a replay is refused. */
  async consume(proof: VerifiedDpopProof, token: string, requireDpop: boolean): Promise<GuardRefusal | undefined> {
    try {
      await this.proofs!.consume(proof);
      return undefined;
    } catch (error) {
      return this.refusal(error, token, requireDpop);
    }
  }

  /** A Bearer token on a route that requires DPoP (`@RequireDpop()`): 401 with a DPoP challenge, counted and reported. */
  bearerRefused(token: string, tenant?: string): GuardRefusal {
    this.telemetry?.decision('invalid', undefined, tenant);
    if (this.telemetry?.events.onTokenRejected) this.telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: 'dpop_required' });
    return this.challenges.dpopRequired();
  }

  /** 401 `invalid_dpop_proof` / `use_dpop_nonce`, with a fresh `DPoP-Nonce` when nonces are on. */
  private refusal(error: unknown, token: string, requireDpop: boolean): GuardRefusal {
    const refusal: PresentationRefusal = this.proofs
      ? this.proofs.refusal(error)
      : {
          error: 'invalid_dpop_proof',
          description: (error as Error)?.message ?? 'The DPoP proof could not be verified.',
          headers: {},
          unexpected: !(error instanceof DpopProofError),
        };
    if (refusal.unexpected) {
      this.log.warn('dpop-unexpected', `A DPoP proof could not be verified: ${(error as Error)?.message ?? String(error)}`);
    }
    this.telemetry?.decision('invalid');
    this.telemetry?.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: refusal.error as TokenRejectedEvent['reason'] });
    return {
      status: HttpStatus.UNAUTHORIZED,
      headers: { 'WWW-Authenticate': this.challenges.dpopOrBoth(requireDpop, { error: refusal.error, description: refusal.description }), ...refusal.headers },
      message: refusal.description,
    };
  }
}
