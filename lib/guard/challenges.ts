import type { ResolvedOptions } from '../options/resolved-options.js';
import { bearerChallenge, dpopChallenge } from './bearer.js';

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
}
