import { SetMetadata } from '@nestjs/common';
import { ANY_CLAIM_KEY, REQUIRE_CLAIMS_KEY } from '../authorization/authorization.constants.js';
import { safeJson } from './require-authentication.decorator.js';

/** A claim value compared with `===`. */
export type ClaimValue = string | number | boolean;

/**
 * What one claim must hold:
 * - a value: the claim equals it, or the claim is an array that contains it;
 * - a non-empty list of values: any one of them, matched as above;
 * - a predicate: called with the claim's value (`undefined` when absent); throwing counts as no match.
 * Only the result's own top-level claims are read (never inherited properties such as `constructor`).
 */
export type ClaimExpectation = ClaimValue | readonly ClaimValue[] | ((value: unknown) => boolean);

/**
 * Requires claim values of the introspection result: every listed claim must match
 * (`@RequireClaims({ tenant: 'acme', email_verified: true })`). On a controller and on a handler both apply.
 * A mismatch answers 403 `insufficient_scope` naming the claims, never their expected values.
 */
export function RequireClaims(claims: Record<string, ClaimExpectation>): ClassDecorator & MethodDecorator {
  return SetMetadata(REQUIRE_CLAIMS_KEY, validateClaims('RequireClaims', claims));
}

/**
 * Requires at least one of the listed claims to match (`@AnyClaim({ tenant: 'acme', role_level: [3, 4] })`).
 * On a controller and on a handler each applies. Combines with `@RequireClaims()`.
 */
export function AnyClaim(claims: Record<string, ClaimExpectation>): ClassDecorator & MethodDecorator {
  return SetMetadata(ANY_CLAIM_KEY, validateClaims('AnyClaim', claims));
}

function validateClaims(name: string, claims: Record<string, ClaimExpectation>): ReadonlyArray<readonly [string, ClaimExpectation]> {
  const fail = (why: string): never => {
    throw new Error(`@${name}(${safeJson(claims)}): ${why}`);
  };
  if (claims === null || typeof claims !== 'object' || Array.isArray(claims)) fail('takes an object of claim names and expected values.');
  const entries = Object.entries(claims);
  if (entries.length === 0) fail('name at least one claim.');
  const isValue = (v: unknown) => (typeof v === 'string' && v.length > 0) || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
  for (const [claim, expected] of entries) {
    if (claim.length === 0 || claim === '__proto__') fail(`'${claim}' is not a usable claim name.`);
    if (typeof expected === 'function') continue;
    if (Array.isArray(expected)) {
      if (expected.length === 0 || !expected.every(isValue))
        fail(`the values of '${claim}' must be a non-empty list of non-empty strings, finite numbers or booleans.`);
    } else if (!isValue(expected)) {
      fail(`the value of '${claim}' must be a non-empty string, a finite number, a boolean, a list of them, or a predicate function.`);
    }
  }
  return Object.freeze(entries.map(([claim, expected]) => Object.freeze([claim, Array.isArray(expected) ? Object.freeze([...expected]) : expected] as const)));
}
