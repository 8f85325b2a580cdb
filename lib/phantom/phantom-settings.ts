import type { ModulesContainer } from '@nestjs/core';
import { IntrospectionConfigurationError } from '../errors/introspection.errors.js';
import { warnOnce } from '../utils/startup-warnings.js';
import type { PhantomTokenOptions } from './phantom-options.interface.js';

/** Claims a phantom token always sets itself; never copied from the introspection result. */
// `cnf` too: a phantom token is a bearer token inside your network; a copied binding would make it unusable.
const RESERVED = new Set(['iss', 'aud', 'sub', 'client_id', 'scope', 'jti', 'iat', 'exp', 'nbf', 'active', 'scopes', 'stale', 'token_type', 'cnf']);

/** The `phantom` options, checked and with their defaults applied. */
export interface PhantomSettings {
  readonly lifetimeSeconds: number;
  readonly overlapMs: number;
  readonly audiences: ReadonlySet<string>;
  readonly claims: readonly string[];
}

/**
 * Checks the `phantom` options (every problem in one `IntrospectionConfigurationError`), warns about a
 * rotation overlap shorter than the lifetime, and applies the defaults. Without options: nothing to mint.
 * @param modules the application's modules (a warning is printed once per application).
 */
export function resolvePhantomSettings(options: PhantomTokenOptions | undefined, modules?: ModulesContainer): PhantomSettings {
  if (!options) return { lifetimeSeconds: 0, overlapMs: 0, audiences: new Set(), claims: [] };
  const problems: string[] = [];
  if (typeof options.issuer !== 'string' || !URL.canParse(options.issuer)) {
    problems.push("`phantom.issuer` must be this API's identifier as an absolute URI, e.g. 'https://api.example.com'.");
  }
  if (!Array.isArray(options.audiences) || options.audiences.length === 0 || options.audiences.some((a) => typeof a !== 'string' || !a)) {
    problems.push("`phantom.audiences` must list the downstream services' identifiers, e.g. ['https://orders.internal'].");
  }
  const lifetime = options.lifetimeSeconds ?? 60;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 3600) {
    problems.push('`phantom.lifetimeSeconds` must be a whole number of seconds from 1 to 3600 (phantom tokens are short-lived).');
  }
  const overlap = options.rotationOverlapSeconds ?? lifetime + 60;
  if (!(overlap >= 0)) problems.push('`phantom.rotationOverlapSeconds` must be ≥ 0.');
  for (const c of options.claims ?? []) {
    if (RESERVED.has(c)) problems.push(`\`phantom.claims\` lists '${c}', which the phantom token sets itself: remove it.`);
  }
  if (problems.length) {
    throw new IntrospectionConfigurationError(`Invalid \`phantom\` options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  if (overlap < lifetime) {
    warnOnce(
      modules,
      'PhantomTokens',
      `phantom.rotationOverlapSeconds (${overlap} s) is shorter than phantom.lifetimeSeconds (${lifetime} s): after rotateKey(), ` +
        'tokens signed with the previous key shortly before the rotation are refused downstream before they expire. ' +
        `Set rotationOverlapSeconds to at least ${lifetime} (default: lifetimeSeconds + 60, room for downstream clocks).`,
    );
  }
  return { lifetimeSeconds: lifetime, overlapMs: overlap * 1000, audiences: new Set(options.audiences), claims: options.claims ?? [] };
}
