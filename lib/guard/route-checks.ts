import type { Reflector } from '@nestjs/core';
import {
  ANY_CLAIM_KEY,
  ANY_ROLE_KEY,
  PROTECTED_RESOURCE_KEY,
  REQUIRE_AUTHENTICATION_KEY,
  REQUIRE_CLAIMS_KEY,
  REQUIREMENT_KEYS,
  ROLES_KEY,
} from '../authorization/authorization.constants.js';
import type { RoleExtractor } from '../authorization/role-mappers.js';
import type { AuthenticationRequirement } from '../decorators/require-authentication.decorator.js';
import type { ClaimExpectation } from '../decorators/require-claims.decorator.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import { ANY_SCOPE_KEY, SCOPES_KEY } from '../introspection.constants.js';
import type { ResolvedOptions } from '../options/resolved-options.js';

type ClaimRequirement = readonly [string, ClaimExpectation];

/**
 * Everything a route requires of an accepted token, read from its metadata once (`readRouteChecks`) and
 * checked on every request or message (`evaluateRouteChecks`), cached results exactly like fresh ones.
 * Transport-neutral: a refusal says status, error code and challenge parameters; HTTP, WebSocket,
 * microservice and graphql-ws paths each turn it into their own answer.
 */
export interface RouteChecks {
  /** Audience this route's resource requires (several `resourceMetadata` entries, no `audience` option). */
  readonly audience?: string;
  /** Every one of these scopes (`@Scopes()`, class and handler lists merged). */
  readonly allScopes: readonly string[];
  /** For each list, at least one of its scopes (`@AnyScope()`). */
  readonly anyScopes: readonly (readonly string[])[];
  readonly allRoles: readonly string[];
  readonly anyRoles: readonly (readonly string[])[];
  readonly allClaims: readonly ClaimRequirement[];
  readonly anyClaims: readonly (readonly ClaimRequirement[])[];
  /** RFC 9470: the effective requirement (class and handler merged), or undefined. */
  readonly stepUp?: { readonly acrValues?: readonly string[]; readonly maxAge?: number };
}

/** What the route's metadata says, for the guard. */
export interface RouteCheckMetadata {
  /** Undefined when the route requires nothing of a valid token (the common case costs one branch). */
  readonly checks?: RouteChecks;
  /** The scopes alone (the guard's start-up warnings and outage policy look at them). */
  readonly allScopes: readonly string[];
  readonly anyScopes: readonly (readonly string[])[];
  /** The RFC 9728 metadata URL every challenge of this route points to. */
  readonly resourceMetadataUrl?: string;
  /** Start-up errors: decorator arguments that cannot work with this module's configuration. */
  readonly errors: readonly string[];
  /** Start-up warnings. */
  readonly traps: readonly string[];
}

/** A refusal by `evaluateRouteChecks`. */
export type RouteRefusal =
  | {
      readonly status: 401;
      readonly error: 'insufficient_user_authentication';
      readonly reason: 'insufficient_user_authentication';
      readonly description: string;
      readonly acrValues?: string;
      readonly maxAge?: number;
    }
  | { readonly status: 401; readonly error: 'invalid_token'; readonly reason: 'audience_mismatch'; readonly description: string }
  | {
      readonly status: 403;
      readonly error: 'insufficient_scope';
      readonly reason: 'insufficient_scope';
      readonly description: string;
      /** The scopes of the failed requirement, for the challenge's `scope` parameter. */
      readonly requiredScopes: readonly string[];
      /** True when one of `requiredScopes` would have been enough (`@AnyScope()`). */
      readonly anyOf: boolean;
    }
  | { readonly status: 403; readonly error: 'insufficient_scope'; readonly reason: 'insufficient_roles' | 'insufficient_claims'; readonly description: string };

/** True when the target itself declares a role, claim or step-up requirement (so `@Public()` beside it is ignored). */
export function declaresRouteChecks(reflector: Reflector, target: object): boolean {
  return REQUIREMENT_KEYS.some((key) => reflector.get(key, target as () => void) !== undefined);
}

/**
 * Reads a route's scope, role, claim, step-up and resource metadata. Called once per route (or once per
 * class: without `handler`, only the class's own decorators count, e.g. a gateway's at connect).
 */
export function readRouteChecks(reflector: Reflector, handler: object | undefined, controller: object, options: ResolvedOptions): RouteCheckMetadata {
  const targets = (handler ? [controller, handler] : [controller]) as Array<() => void>;
  const lists = <T>(key: string) => reflector.getAll<(T | undefined)[]>(key, targets).filter((v): v is T => v !== undefined);
  const allScopes = [...new Set(lists<readonly string[]>(SCOPES_KEY).flat())];
  const anyScopes = lists<readonly string[]>(ANY_SCOPE_KEY).filter((list) => Array.isArray(list));
  const allRoles = [...new Set(lists<readonly string[]>(ROLES_KEY).flat())];
  const anyRoles = lists<readonly string[]>(ANY_ROLE_KEY);
  const allClaims = lists<readonly ClaimRequirement[]>(REQUIRE_CLAIMS_KEY).flat();
  const anyClaims = lists<readonly ClaimRequirement[]>(ANY_CLAIM_KEY);
  const errors: string[] = [];
  const traps: string[] = [];

  let stepUp: RouteChecks['stepUp'];
  for (const requirement of lists<AuthenticationRequirement>(REQUIRE_AUTHENTICATION_KEY)) {
    const acrValues =
      requirement.acrValues === undefined
        ? stepUp?.acrValues
        : stepUp?.acrValues === undefined
          ? requirement.acrValues
          : stepUp.acrValues.filter((v) => requirement.acrValues!.includes(v));
    const maxAge = requirement.maxAge === undefined ? stepUp?.maxAge : Math.min(requirement.maxAge, stepUp?.maxAge ?? Infinity);
    stepUp = { ...(acrValues ? { acrValues } : {}), ...(maxAge !== undefined ? { maxAge } : {}) };
  }
  if (stepUp?.acrValues?.length === 0) {
    errors.push('@RequireAuthentication() on the controller and on the handler share no acr value: no token could ever pass. Make the lists overlap.');
  }

  const resources = options.resourceMetadata;
  const named = reflector.getAllAndOverride<string | undefined>(PROTECTED_RESOURCE_KEY, [...targets].reverse());
  let resource = resources[0];
  if (named !== undefined) {
    const found = resources.find((r) => r.resource === named);
    if (!found) {
      errors.push(
        resources.length === 0
          ? `@ProtectedResource('${named}') but the module has no \`resourceMetadata\`: configure the resource there.`
          : `@ProtectedResource('${named}') names no configured resource; configured: ${resources.map((r) => r.resource).join(', ')}.`,
      );
    } else {
      resource = found;
    }
  }
  // One resource: the module-wide audience already is that resource. Several: each route insists on its own.
  const audience = !options.audienceExplicit && resources.length > 1 && resource ? resource.resource : undefined;
  if (resources.length > 1 && named === undefined) {
    traps.push(
      `Several protected resources are configured and this route names none (@ProtectedResource()): it belongs to the first, '${resources[0].resource}'.`,
    );
  }

  const needed =
    allScopes.length > 0 ||
    anyScopes.length > 0 ||
    allRoles.length > 0 ||
    anyRoles.length > 0 ||
    allClaims.length > 0 ||
    anyClaims.length > 0 ||
    stepUp !== undefined ||
    audience !== undefined;
  return {
    checks: needed ? Object.freeze({ audience, allScopes, anyScopes, allRoles, anyRoles, allClaims, anyClaims, stepUp }) : undefined,
    allScopes,
    anyScopes,
    resourceMetadataUrl: resource?.metadataUrl,
    errors,
    traps,
  };
}

/**
 * Checks an accepted token against a route's requirements, in the order a client can act on: first what a
 * new token could fix (401: wrong resource `invalid_token`, then RFC 9470 step-up
 * `insufficient_user_authentication`), then what this client is not allowed (403 `insufficient_scope`:
 * scopes, roles, claims). Undefined when every requirement holds. Never throws: claims of unexpected shapes
 * simply do not match.
 */
export function evaluateRouteChecks(
  checks: RouteChecks,
  result: ActiveIntrospectionResult,
  roles: RoleExtractor,
  clockSkewSeconds: number,
  at?: number,
): RouteRefusal | undefined {
  if (checks.audience !== undefined) {
    const aud = claim(result, 'aud');
    if (!(aud === checks.audience || (Array.isArray(aud) && aud.includes(checks.audience)))) {
      return {
        status: 401,
        error: 'invalid_token',
        reason: 'audience_mismatch',
        description: `The access token is not meant for this resource (${checks.audience}).`,
      };
    }
  }
  const stepUp = checks.stepUp;
  if (stepUp) {
    let why: string | undefined;
    if (stepUp.acrValues) {
      const acr = claim(result, 'acr');
      if (typeof acr !== 'string' || !stepUp.acrValues.includes(acr)) why = 'A different authentication level is required';
    }
    if (!why && stepUp.maxAge !== undefined) {
      // The clock is read only here: a route without step-up costs no Date.now() per request.
      const nowSeconds = at ?? Date.now() / 1000;
      const authTime = claim(result, 'auth_time');
      if (typeof authTime !== 'number' || !Number.isFinite(authTime)) why = 'The time of authentication is unknown; a new authentication is required';
      else if (authTime > nowSeconds + clockSkewSeconds) why = 'The time of authentication lies in the future; a new authentication is required';
      // Whole seconds, like auth_time itself: `maxAge: N` accepts an authentication up to N full seconds old.
      else if (Math.floor(nowSeconds) - authTime > stepUp.maxAge + clockSkewSeconds) why = 'More recent authentication is required';
    }
    if (why) {
      return {
        status: 401,
        error: 'insufficient_user_authentication',
        reason: 'insufficient_user_authentication',
        description: `${why}.`,
        ...(stepUp.acrValues ? { acrValues: stepUp.acrValues.join(' ') } : {}),
        ...(stepUp.maxAge !== undefined ? { maxAge: stepUp.maxAge } : {}),
      };
    }
  }
  const granted = result.scopes;
  for (const scope of checks.allScopes) {
    if (!granted.includes(scope)) {
      return {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_scope',
        requiredScopes: checks.allScopes,
        anyOf: false,
        description: `The access token lacks a required scope. Required: ${checks.allScopes.join(', ')}.`,
      };
    }
  }
  for (const anyOf of checks.anyScopes) {
    if (!anyOf.some((scope) => granted.includes(scope))) {
      return {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_scope',
        requiredScopes: anyOf,
        anyOf: true,
        description: `The access token needs one of these scopes: ${anyOf.join(', ')}.`,
      };
    }
  }
  if (checks.allRoles.length > 0 || checks.anyRoles.length > 0) {
    const held = roles.rolesOf(result);
    const missing = checks.allRoles.filter((role) => !held.has(role));
    if (missing.length > 0) {
      return {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_roles',
        description: `The access token lacks a required role. Required: ${checks.allRoles.join(', ')}.`,
      };
    }
    for (const anyOf of checks.anyRoles) {
      if (!anyOf.some((role) => held.has(role))) {
        return {
          status: 403,
          error: 'insufficient_scope',
          reason: 'insufficient_roles',
          description: `The access token needs one of these roles: ${anyOf.join(', ')}.`,
        };
      }
    }
  }
  for (const [name, expected] of checks.allClaims) {
    if (!matches(result, name, expected)) {
      return {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_claims',
        description: `The access token's claim '${name}' does not have a value this resource requires.`,
      };
    }
  }
  for (const anyOf of checks.anyClaims) {
    if (!anyOf.some(([name, expected]) => matches(result, name, expected))) {
      return {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_claims',
        description: `None of the access token's claims ${anyOf.map(([n]) => `'${n}'`).join(', ')} has a value this resource requires.`,
      };
    }
  }
  return undefined;
}

/** A top-level claim the result itself holds; inherited properties (`constructor`, `__proto__`) are never claims. */
function claim(result: object, name: string): unknown {
  return Object.hasOwn(result, name) ? (result as Record<string, unknown>)[name] : undefined;
}

function matches(result: object, name: string, expected: ClaimExpectation): boolean {
  const value = claim(result, name);
  if (typeof expected === 'function') {
    try {
      return expected(value) === true;
    } catch {
      return false;
    }
  }
  const candidates = Array.isArray(expected) ? expected : [expected];
  if (Array.isArray(value)) return value.some((v) => candidates.includes(v));
  return value !== undefined && candidates.includes(value);
}
