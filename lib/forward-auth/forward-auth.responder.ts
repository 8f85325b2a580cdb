import { Inject, Injectable, Optional } from '@nestjs/common';
import { IntrospectionConfigurationError, InvalidTokenError } from '../errors/introspection.errors.js';
import { Challenges } from '../guard/challenges.js';
import { acceptedTokens } from '../guard/execution-context.js';
import { asUnavailable, outageRefusal } from '../guard/outage-decision.js';
import { rejection } from '../guard/rejection.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { RESOLVED_OPTIONS, TOKEN_MINTER } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { TokenMinter } from '../ports.js';
import { forwardedDecisions } from './forward-auth.guard.js';
import { FORWARD_AUTH_SETTINGS, type ForwardAuthSettings } from './resolve-forward-auth-options.js';
import { identityHeaders } from './upstream-headers.js';

/**
 * The answer to a decision request that `ForwardAuthGuard` accepted: 200, an empty body, the identity headers and the
 * phantom token. Every header is set only once everything succeeded, so a refusal never carries an identity.
 */
@Injectable()
export class ForwardAuthResponder {
  private readonly challenges: Challenges;

  constructor(
    @Inject(FORWARD_AUTH_SETTINGS) private readonly settings: ForwardAuthSettings,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedOptions,
    @Optional() @Inject(TOKEN_MINTER) private readonly minter?: TokenMinter | null,
  ) {
    this.challenges = new Challenges(options);
    const upstream = settings.upstreamToken;
    if (!upstream) return;
    if (!minter)
      throw new IntrospectionConfigurationError('ForwardAuthModule `upstreamToken` needs phantom tokens: set the `phantom` option of IntrospectionModule.');
    const audiences = [upstream.audience, ...settings.locations.map((l) => l.audience)].filter((a): a is string => a !== undefined);
    const unknown = audiences.filter((a) => !minter.audiences.includes(a));
    if (unknown.length > 0) {
      throw new IntrospectionConfigurationError(
        `ForwardAuthModule: ${unknown.map((a) => `'${a}'`).join(', ')} is not one of \`phantom.audiences\`: add it there.`,
      );
    }
  }

  /** Sets the identity headers on `response` (Express `res`, Fastify `reply`); throws the refusal when the phantom token cannot be minted. */
  async respond(request: object, response: any): Promise<void> {
    const decided = forwardedDecisions.get(request);
    const accepted = decided && acceptedTokens.get(decided.view);
    if (!decided || !accepted) {
      if (decided?.location.isPublic) return;
      // Only `fail-open` lets a request through without a token, and the guard never applies it here: defence in depth.
      const retry = String(this.options.resilience.retryAfterSeconds);
      throw rejection(response, 503, { 'Retry-After': retry }, 'The token could not be checked; try again later.');
    }
    const headers = identityHeaders(this.settings.headerMap, accepted.result as ActiveIntrospectionResult, this.settings.maxHeaderBytes, accepted.token);
    const upstream = this.settings.upstreamToken;
    if (upstream && this.minter) {
      try {
        const audience = decided.location.audience ?? upstream.audience;
        headers[upstream.header] = `Bearer ${await this.minter.mint(accepted.token, audience, { presentation: accepted.presentation })}`;
      } catch (error) {
        // Evicted and refused since the guard's decision; or the authorization server cannot say: never a 500.
        const refusal =
          error instanceof InvalidTokenError
            ? this.challenges.inactive(error.reason, accepted.presentation.scheme, false)
            : outageRefusal(asUnavailable(error, this.options.resilience.retryAfterSeconds), this.options.exposeOutageReason);
        throw rejection(response, refusal.status, refusal.headers, refusal.message);
      }
    }
    headers['Cache-Control'] = 'no-store';
    for (const [name, value] of Object.entries(headers)) response.header(name, value);
  }
}
