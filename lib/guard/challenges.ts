import type { ResolvedOptions } from '../options/resolved-options.js';
import { HttpStatus } from '@nestjs/common';
import { describeInvalidToken, type InvalidTokenReason } from '../errors/introspection.errors.js';
import { bearerChallenge, dpopChallenge, type BearerExtraction } from './bearer.js';

/** A refusal for the guard to throw (through its `throwRejection` hook). */
export interface GuardRefusal {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly message: string;
}

/** Parameters of a `DPoP` challenge besides the realm and algorithms. */
export type DpopChallengeParams = { error?: string; description?: string; scope?: string; acrValues?: string; maxAge?: number };

/** The `WWW-Authenticate` challenges the guard answers with (RFC 6750 §3, RFC 9449 §7.1), built from the options once. */
export class Challenges {
  /** The bare Bearer challenge of a request without a token. */
  readonly missing: string;
  private readonly dpopAlgorithms: readonly string[];

  constructor(private readonly options: Pick<ResolvedOptions, 'realm' | 'dpop'>) {
    this.missing = bearerChallenge({ realm: options.realm });
    this.dpopAlgorithms = options.dpop ? options.dpop.algorithms : [];
  }

  /** A `DPoP` challenge with the accepted proof algorithms. */
  dpop(params: DpopChallengeParams = {}): string {
    return dpopChallenge({ realm: this.options.realm, algs: this.dpopAlgorithms, ...params });
  }

  /** The DPoP challenge, and a bare Bearer challenge beside it where bearer tokens are accepted too (RFC 9449 §7.1). */
  dpopOrBoth(requireDpop: boolean, params: { error?: string; description?: string; scope?: string }): string | string[] {
    const dpop = this.dpop(params);
    return requireDpop ? dpop : [dpop, this.missing];
  }

  /** No usable credentials: 401 (missing, or another scheme: RFC 6750 §3.1) or 400 `invalid_request` (malformed). */
  credentials(extracted: Exclude<BearerExtraction, { kind: 'token' }>, requireDpop: boolean): GuardRefusal {
    if (extracted.kind === 'missing' || extracted.kind === 'other_scheme') {
      return requireDpop
        ? {
            status: HttpStatus.UNAUTHORIZED,
            headers: { 'WWW-Authenticate': this.dpop() },
            message: 'A DPoP-bound access token is required: send Authorization: DPoP <token> and a DPoP proof.',
          }
        : {
            status: HttpStatus.UNAUTHORIZED,
            headers: { 'WWW-Authenticate': this.missing },
            message: 'An access token is required: send Authorization: Bearer <token>.',
          };
    }
    const challenge = requireDpop
      ? this.dpop({ error: 'invalid_request', description: extracted.description })
      : bearerChallenge({ realm: this.options.realm, error: 'invalid_request', description: extracted.description });
    return { status: HttpStatus.BAD_REQUEST, headers: { 'WWW-Authenticate': challenge }, message: extracted.description };
  }

  /** A bearer token on a route that requires DPoP. */
  dpopRequired(): GuardRefusal {
    const description = 'This resource requires a DPoP-bound access token: send Authorization: DPoP <token> with a DPoP proof.';
    return { status: HttpStatus.UNAUTHORIZED, headers: { 'WWW-Authenticate': this.dpop({ error: 'invalid_token', description }) }, message: description };
  }

  /** 401 for a token that is not acceptable, in the scheme it was sent with. */
  inactive(reason: InvalidTokenReason, scheme: 'bearer' | 'dpop', requireDpop: boolean): GuardRefusal {
    const description = describeInvalidToken(reason);
    if (scheme === 'dpop') {
      // RFC 9449 §7.1: a proof by another key than the token's is a bad proof; anything else is a bad token.
      const error = reason === 'dpop_key_mismatch' ? 'invalid_dpop_proof' : 'invalid_token';
      return { status: HttpStatus.UNAUTHORIZED, headers: { 'WWW-Authenticate': this.dpopOrBoth(requireDpop, { error, description }) }, message: description };
    }
    const challenge = bearerChallenge({ realm: this.options.realm, error: 'invalid_token', description });
    // A DPoP-bound token sent as Bearer: also say how it must be sent (RFC 9449 §7.2).
    const dpopBound = reason === 'sender_constrained' && this.options.dpop !== false;
    return { status: HttpStatus.UNAUTHORIZED, headers: { 'WWW-Authenticate': dpopBound ? [challenge, this.dpop()] : challenge }, message: description };
  }
}
