import { Logger } from '@nestjs/common';
import type { InvalidTokenReason } from '../errors/introspection.errors.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';

/** The options a refusal by this API's own policy names (what the operator may have to change). */
export interface RefusalPolicy {
  readonly audience?: readonly string[];
  readonly expectedIssuer?: string;
  readonly requireTokenType?: boolean;
}

/** Answers in a row that lack a claim a requirement reads before that requirement is called unmeetable. */
export const UNMEETABLE_AFTER = 5;

type Requirement = 'audience' | 'expectedIssuer' | 'requireTokenType';

/**
 * Server-side trace of tokens the authorization server calls active but this API's own policy refuses
 * (`audience`, `expectedIssuer`, `requireTokenType`): the client only gets 401 "audience mismatch", so the
 * log says which token (fingerprint), what was expected, what the answer carried and which option to change.
 * At most one line per reason every 10 s.
 *
 * It also notices a requirement that may never be met: when the first {@link UNMEETABLE_AFTER} active answers carry
 * no `aud` (or no `iss`, no `token_type`) at all, and none has yet, the authorization server may never send that
 * claim — then every token would be refused. Said once, as a warning that asks to check an answer for a token meant
 * for this API. Callers choose the tokens (an attacker can send five active tokens of other APIs), so it never
 * says "remove the requirement" outright; once any answer carries the claim it is never said.
 */
export class PolicyRefusals {
  private readonly log: RateLimitedLogger;
  private readonly logger = new Logger('TokenIntrospection');
  /** Active answers in a row without the claim a requirement reads; -1 once a claim was seen (the AS sends it). */
  private readonly missing: Record<Requirement, number> = { audience: 0, expectedIssuer: 0, requireTokenType: 0 };

  constructor(private readonly policy: RefusalPolicy) {
    this.log = new RateLimitedLogger(this.logger);
  }

  /**
   * One validated answer. `reason` is set when this API refused it; `answer` is what was validated
   * (the AS's answer, with a local JWT's signed claims where it omitted them). `watch`: count the answer
   * towards the unmeetable-requirement check (answers of the AS; not the claims of a refused JWT).
   */
  report(token: string, reason: InvalidTokenReason | undefined, answer: Record<string, unknown>, answeringIssuer?: string, watch = true): void {
    if (answer.active !== true) return;
    if (watch) {
      this.notice('audience', this.policy.audience !== undefined, answer.aud);
      this.notice('expectedIssuer', this.policy.expectedIssuer !== undefined, answer.iss ?? answeringIssuer);
      this.notice('requireTokenType', this.policy.requireTokenType === true, answer.token_type);
    }
    if (reason === 'audience_mismatch') {
      this.log.warn(
        reason,
        () =>
          `Token ${tokenFingerprint(token)} refused (audience_mismatch): this API's \`audience\` is ${list(this.policy.audience)}, ` +
          `the authorization server's answer has ${answer.aud === undefined ? 'no `aud` at all' : `aud ${list(answer.aud)}`}. ` +
          'Set `audience` to the value the authorization server puts in `aud` for tokens meant for this API, or have the AS add it to the tokens.' +
          (answer.aud === undefined
            ? ' If this AS never sends `aud` in introspection answers, `audience` cannot be met: remove it (use `expectedIssuer`; add `requireTokenType: true` only if it sends `token_type`).'
            : ''),
      );
    } else if (reason === 'issuer_mismatch') {
      const received = answer.iss ?? answeringIssuer;
      this.log.warn(
        reason,
        () =>
          `Token ${tokenFingerprint(token)} refused (issuer_mismatch): this API's \`expectedIssuer\` is '${this.policy.expectedIssuer}', ` +
          `the answer has ${received === undefined ? 'no `iss`, and the issuer of the answering server is unknown' : `iss '${String(received)}'`}. ` +
          'Set `expectedIssuer` to exactly the issuer the authorization server names (a trailing slash counts)' +
          (received === undefined ? ', and `issuer` to it too so an answer without `iss` is known to be its.' : '.'),
      );
    } else if (reason === 'not_access_token' && this.policy.requireTokenType === true && answer.token_type === undefined) {
      this.log.warn(
        'requireTokenType',
        () =>
          `Token ${tokenFingerprint(token)} refused (not_access_token): \`requireTokenType\` is on and the authorization server's answer has no \`token_type\`. ` +
          'If this AS never sends `token_type`, remove `requireTokenType` and set `audience` instead (if it sends `aud`).',
      );
    }
  }

  private notice(requirement: Requirement, configured: boolean, claim: unknown): void {
    if (!configured || this.missing[requirement] < 0) return;
    if (claim !== undefined) {
      this.missing[requirement] = -1;
      return;
    }
    if (++this.missing[requirement] !== UNMEETABLE_AFTER) return;
    const claimName = requirement === 'audience' ? 'aud' : requirement === 'expectedIssuer' ? 'iss' : 'token_type';
    const fix =
      requirement === 'audience'
        ? 'configure the AS to include `aud`, or remove `audience` and rely on `expectedIssuer` (and on `requireTokenType` only if the AS sends `token_type`).'
        : requirement === 'expectedIssuer'
          ? 'set `issuer` (or keep only `introspectionEndpoint`: it then speaks for `expectedIssuer`).'
          : 'remove `requireTokenType` (set `audience` instead if the AS sends `aud`).';
    this.logger.warn(
      `\`${requirement}\` may never be met: none of the ${UNMEETABLE_AFTER} active answers of the authorization server so far carried \`${claimName}\`, ` +
        `so each was refused with 401. Tokens of other APIs lack it too; check the answer for a token issued for this API. ` +
        `If the AS never sends \`${claimName}\` in introspection answers, ${fix}`,
    );
  }
}

function list(value: unknown): string {
  return JSON.stringify(value === undefined ? [] : Array.isArray(value) ? value : [value]);
}
