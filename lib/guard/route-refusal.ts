import type { IntrospectionTelemetry } from '../telemetry/introspection.telemetry.js';
import { tokenFingerprint } from '../utils/fingerprint.js';
import type { ChallengeParams } from './bearer.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { RoleExtractor } from '../authorization/role-mappers.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { bearerChallenge } from './bearer.js';
import type { Challenges, GuardRefusal } from './challenges.js';
import { evaluateRouteChecks, type RouteChecks, type RouteRefusal } from './route-checks.js';

/**
 * The challenge parameters of a route's refusal (RFC 6750 §3.1 `insufficient_scope` with the scopes, RFC 9470
 * `insufficient_user_authentication` with `acr_values`/`max_age`, `invalid_token` for audience), after recording
 * the decision and the rejection event.
 */
export function refusalChallenge(
  refusal: RouteRefusal,
  realm: string | undefined,
  token: string,
  telemetry: IntrospectionTelemetry | undefined,
  tenant?: string,
): ChallengeParams {
  if (refusal.reason === 'insufficient_scope') {
    telemetry?.decision('insufficient_scope', undefined, tenant);
    if (telemetry?.events.onTokenRejected) {
      telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: 'insufficient_scope', requiredScopes: refusal.requiredScopes });
    }
    const scope = refusal.requiredScopes.join(' ');
    return { realm, error: refusal.error, description: `${refusal.anyOf ? 'One of these scopes' : 'Scopes'} required: ${scope}`, scope };
  }
  telemetry?.decision(refusal.status === 403 ? 'insufficient_scope' : 'invalid', undefined, tenant);
  if (telemetry?.events.onTokenRejected) telemetry.emit('onTokenRejected', { fingerprint: tokenFingerprint(token), reason: refusal.reason });
  return {
    realm,
    error: refusal.error,
    description: refusal.description,
    ...(refusal.error === 'insufficient_user_authentication' ? { acrValues: refusal.acrValues, maxAge: refusal.maxAge } : {}),
  };
}

/**
 * Scopes, roles, claims, step-up (RFC 9470) and per-resource audience, on cached results as on fresh ones: the
 * refusal, in the scheme the token was sent with, or undefined. 401-type refusals (audience, step-up) before 403-type
 * ones (scopes, roles, claims); see `evaluateRouteChecks`.
 */
export function routeRefusal(
  checks: RouteChecks,
  result: ActiveIntrospectionResult,
  roles: RoleExtractor,
  options: Pick<ResolvedOptions, 'realm' | 'clockSkewSeconds'>,
  token: string,
  telemetry: IntrospectionTelemetry | undefined,
  scheme: 'bearer' | 'dpop',
  challenges: Challenges,
): GuardRefusal | undefined {
  const refusal = evaluateRouteChecks(checks, result, roles, options.clockSkewSeconds);
  if (!refusal) return undefined;
  const params = refusalChallenge(refusal, options.realm, token, telemetry, result.introspectionTenant);
  return {
    status: refusal.status,
    headers: { 'WWW-Authenticate': scheme === 'dpop' ? challenges.dpop(params) : bearerChallenge(params) },
    message: refusal.description,
  };
}
