import { hash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { SharedState } from '../cache/shared-state.js';
import type { ResolvedDpopOptions } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import { DpopNonces, DpopProofError, verifyDpopProof, type DpopRequestContext, type VerifiedDpopProof } from './dpop-proof.js';
import type { ProofVerifier } from '../ports.js';

/**
 * Everything RFC 9449 §4.3 asks of a proof, for the engine: the stateless checks (`verifyDpopProof`), the
 * server nonce when configured, and the `jti` replay check — in process, and across replicas through
 * `cache.redis` (SET NX). Knows nothing of HTTP: the guard passes the method, URI and token.
 */
export class DpopVerifier implements ProofVerifier {
  private readonly seen: LRUCache<string, true>;
  private readonly log = new RateLimitedLogger(new Logger('DpopVerifier'));
  private readonly nonces?: DpopNonces;
  /** How long a proof's jti is remembered: as long as its `iat` can be accepted. */
  private readonly replayWindowMs: number;

  constructor(
    private readonly options: ResolvedDpopOptions,
    /** Makes the replay check hold across replicas (`cache.redis`): the `SHARED_STATE` port. */
    private readonly sharedState: SharedState,
  ) {
    this.seen = new LRUCache({ max: options.replayCacheSize });
    this.replayWindowMs = (options.maxAgeSeconds + 2 * options.clockSkewSeconds) * 1000;
    if (options.nonce) this.nonces = new DpopNonces(options.nonce.secret, options.nonce.lifetimeMs);
  }

  /** The nonce to send in `DPoP-Nonce`, when server nonces are on. */
  currentNonce(): string | undefined {
    return this.nonces?.current();
  }

  /**
   * Verifies a proof; rejects with `DpopProofError` (`invalid_dpop_proof`, or `use_dpop_nonce`). A proof
   * this replica already accepted is refused here, before any call to the authorization server; the proof
   * is recorded only by `consume()`, once the token it came with was accepted.
   */
  async verify(proof: string, request: DpopRequestContext): Promise<VerifiedDpopProof> {
    const verified = await verifyDpopProof(proof, request, this.options);
    if (this.nonces && !this.nonces.isValid(verified.nonce)) {
      throw new DpopProofError('use_dpop_nonce', 'Use the server nonce of the DPoP-Nonce header in the DPoP proof.');
    }
    if (this.seen.has(replayKey(verified.jkt, verified.jti))) throw replayed();
    return verified;
  }

  /**
   * Records an accepted proof's `jti` (RFC 9449 §11.1); rejects with `DpopProofError` when it was used
   * before. Only proofs of accepted tokens are recorded, so a flood of proofs made for junk tokens cannot
   * push real entries out of the bounded in-process memory. Atomic across replicas with `cache.redis`.
   */
  async consume(proof: VerifiedDpopProof): Promise<void> {
    if (!(await this.firstUse(replayKey(proof.jkt, proof.jti)))) throw replayed();
  }

  /**
   * Local first (free, and it stops a replay to this replica even when Redis is down), then the shared
   * store, which makes the check hold across replicas. Redis failing degrades to the local check only.
   */
  private async firstUse(id: string): Promise<boolean> {
    if (this.seen.has(id)) return false;
    this.seen.set(id, true, { ttl: this.replayWindowMs });
    try {
      const shared = await this.sharedState.claimOnce(id, this.replayWindowMs);
      return shared !== false;
    } catch (error) {
      this.log.warn('dpop-replay-redis', `DPoP replay check fell back to this replica only: ${(error as Error).message}`);
      return true;
    }
  }
}

function replayed(): DpopProofError {
  return new DpopProofError('invalid_dpop_proof', 'The DPoP proof was already used ("jti" replay).');
}

/** The key a proof is remembered under: its jti, scoped to the key that signed it, hashed. */
export function replayKey(jkt: string, jti: string): string {
  return hash('sha256', `${jkt}\u0000${jti}`, 'base64url');
}
