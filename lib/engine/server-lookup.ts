import { Logger } from '@nestjs/common';
import type { IntrospectionCache, PolicyCheck } from '../cache/introspection.cache.js';
import type { SharedEntry } from '../cache/sealed-entry.js';
import { TOKEN_REJECTED, validateClaims, type IntrospectionResponse } from '../client/introspection-response.js';
import type { IntrospectionClient } from '../client/introspection.client.js';
import { AuthorizationServerUnavailableError } from '../errors/introspection.errors.js';
import type { ActiveIntrospectionResult, IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { TokenPath } from '../ports.js';
import type { ResiliencePolicy } from '../resilience/resilience.policy.js';
import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { PolicyRefusals } from '../telemetry/policy-refusals.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';

/**
 * The engine's call to the authorization server: through the resilience policy, validated by this API's policy,
 * stored under the cache's write ticket (an eviction meanwhile wins), failures logged and reported.
 */
export class ServerLookup {
  private readonly log: RateLimitedLogger;
  /** Logs what this API's policy refused, and requirements the AS's answers may never meet. */
  private readonly policyRefusals: PolicyRefusals;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly cache: IntrospectionCache | null,
    private readonly resilience: ResiliencePolicy,
    private readonly client: IntrospectionClient,
    private readonly telemetry: IntrospectionTelemetry,
    private readonly jwt: TokenPath | null | undefined,
    logger: Logger,
  ) {
    this.log = new RateLimitedLogger(logger);
    this.signedPolicy = { ...options, requireTokenType: false };
    this.policyRefusals = new PolicyRefusals(options);
  }

  /**
   * One call to the authorization server (shared by concurrent callers of the same token).
   * @param signed the verified claims of a JWT access token this API validated locally: the AS's answer says
   *   whether it is still active (and may add claims); what the answer omits (`aud`, `iss`, `exp`, …) comes
   *   from the signed token, whose `typ` already says it is an access token.
   */
  async lookup(token: string, key: string, knownToken = false, caller?: string, signed?: ActiveIntrospectionResult): Promise<IntrospectionResult> {
    const started = Date.now();
    this.telemetry.lookupStarted();
    const ticket = this.cache?.openTicket(key);
    try {
      const answer = await this.resilience.execute((signal) => this.client.introspect(token, signal), knownToken, caller);
      const jwt = this.jwt?.handles(token) === true;
      // A background re-check of a JWT answer cached by a request: the signed claims are verified again.
      if (jwt && !signed && answer.active === true) signed = await this.jwt.signedClaims(token);
      const response = signed && answer.active === true ? withSignedClaims(answer, signed) : answer;
      const now = Date.now();
      const result = validateClaims(response, signed ? this.signedPolicy : this.options, now / 1000, this.answeringIssuer());
      this.telemetry.lookupFinished(result.active ? 'active' : 'inactive', (now - started) / 1000);
      this.policyRefusals.report(token, result.active ? undefined : result.reason, response, this.answeringIssuer());
      // Only a verdict that holds for every route may be remembered. For a JWT this API validates locally, that
      // is the AS's own `active: false`: a refusal of the answer (an AS that cannot introspect JWTs, a claim the
      // signed token could not vouch for) says nothing the next, local validation would not say again.
      const notForEveryRoute = !result.active && jwt && !(answer.active === false && !(TOKEN_REJECTED in answer));
      if (this.cache && ticket && notForEveryRoute) this.cache.abandon(ticket);
      else if (this.cache && ticket) {
        if (result.active) this.cache.storeActive(key, token, response as SharedEntry['response'], result, now, ticket);
        else this.cache.storeInactive(key, result, now, ticket, answer.active === false);
      }
      return result;
    } catch (error) {
      if (ticket) this.cache!.abandon(ticket);
      const elapsedMs = Date.now() - started;
      const reason = error instanceof AuthorizationServerUnavailableError ? error.reason : 'unexpected_error';
      this.telemetry.lookupFinished('error', elapsedMs / 1000, reason);
      this.reportFailure(error, token, elapsedMs);
      throw error;
    }
  }

  /**
   * The issuer of the authorization server that answers, when known: the `issuer` option, discovery, or — with
   * only `introspectionEndpoint` — `expectedIssuer`: the endpoint the operator configured speaks for the issuer
   * they expect, so an answer without `iss` (optional in RFC 7662; Glewlwyd omits it) is that issuer's.
   */
  private answeringIssuer(): string | undefined {
    return this.client.endpoints.known()?.issuer ?? (this.options.issuer === undefined ? this.options.expectedIssuer : undefined);
  }

  /** This API's policy, applied to entries other replicas wrote to the shared store. */
  readonly policyCheck: PolicyCheck = (response, nowMs) => validateClaims(response, this.options, nowMs / 1000, this.answeringIssuer());

  /** The policy for answers about a locally validated JWT (merged with its signed claims): its `typ` is its token type. */
  private readonly signedPolicy: ResolvedOptions;
  readonly signedPolicyCheck: PolicyCheck = (response, nowMs) => validateClaims(response, this.signedPolicy, nowMs / 1000, this.answeringIssuer());

  private reportFailure(error: unknown, token: string, elapsedMs: number): void {
    if (!(error instanceof AuthorizationServerUnavailableError)) return;
    // Built only when the rate limiter lets the line through: an outage must not cost a hash per request.
    const line = () =>
      `${error.configurationError ? 'Configuration error' : 'Authorization server unavailable'} (${error.reason}${error.status ? `, HTTP ${error.status}` : ''}) ` +
      `at ${this.client.endpoints.known()?.introspectionEndpoint.host ?? this.options.issuer ?? 'unknown'} after ${elapsedMs} ms ` +
      `for token ${tokenFingerprint(token)}: ${error.message} Answering 'unavailable' (retry after ${error.retryAfterSeconds} s).`;
    if (error.configurationError) this.log.error(error.reason, line);
    else this.log.warn(error.reason, line);
    if (this.telemetry.events.onAuthorizationServerUnavailable) {
      this.telemetry.emit('onAuthorizationServerUnavailable', {
        fingerprint: tokenFingerprint(token),
        reason: error.reason,
        status: error.status,
        retryAfterSeconds: error.retryAfterSeconds,
        elapsedMs,
      });
    }
  }
}

/** The AS's answer about a locally validated JWT, with the signed token's claims where the answer omits them. */
function withSignedClaims(answer: IntrospectionResponse, signed: ActiveIntrospectionResult): IntrospectionResponse {
  const { scopes: _scopes, stale: _stale, ...claims } = signed as ActiveIntrospectionResult & { stale?: boolean };
  return { ...claims, ...answer };
}
