/** Asymmetric JWS algorithms jose verifies. HMAC is never accepted: the keys are public. */
const ASYMMETRIC = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']);
const DEFAULT_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/**
 * An option listing the JWS algorithms accepted from a key set (JWT access tokens, signed introspection, push
 * receivers): the default when absent; `none`, HMAC and unknown names are problems. Shared by jwt/ and push/.
 */
export function checkAlgorithms(name: string, value: unknown, problems: string[]): string[] {
  if (value === undefined) return DEFAULT_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0 || value.some((a) => typeof a !== 'string')) {
    problems.push(`\`${name}\` must be a non-empty list of JWS algorithm names, e.g. ['RS256', 'ES256'].`);
    return DEFAULT_ALGORITHMS;
  }
  for (const alg of value as string[]) {
    if (alg.toLowerCase() === 'none') problems.push(`\`${name}\` lists 'none': unsigned tokens are never accepted. Remove it.`);
    else if (/^HS/i.test(alg))
      problems.push(`\`${name}\` lists '${alg}': HMAC needs a shared secret, and the keys of an authorization server are public. Remove it.`);
    else if (!ASYMMETRIC.has(alg)) problems.push(`\`${name}\` lists '${alg}', which is not an asymmetric JWS algorithm: use ${[...ASYMMETRIC].join(', ')}.`);
  }
  return value as string[];
}
