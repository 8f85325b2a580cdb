/**
 * The shape of `ForwardAuthOptions` as they arrive at run time (often from JSON, YAML or environment variables, with no
 * TypeScript excess-property check): unknown keys, wrongly typed values and prefixes that can never match. Each of
 * them would otherwise leave a location silently weaker than declared (a misspelt `scope` is no requirement at all).
 * Every check reports into `problems`, in the `what: how to fix it` form of the other `ForwardAuthModule` problems.
 */

/** The keys of `ForwardAuthOptions`. */
export const OPTION_KEYS = [
  'path',
  'trustedProxies',
  'originalRequest',
  'externalOrigin',
  'locations',
  'defaultRequirements',
  'upstreamHeaders',
  'maxHeaderBytes',
  'upstreamToken',
] as const;
/** The keys of `ForwardAuthRequirements` but `audience` (`defaultRequirements`). */
export const REQUIREMENT_KEYS = ['scopes', 'anyScopes', 'roles', 'anyRoles', 'claims', 'anyClaims', 'requireDpop', 'requireIntrospection', 'public'] as const;
/** The keys of `ForwardAuthLocation`. */
export const LOCATION_KEYS = ['prefix', ...REQUIREMENT_KEYS, 'audience'] as const;
/** The keys of `ForwardAuthUpstreamToken`. */
export const UPSTREAM_TOKEN_KEYS = ['header', 'audience'] as const;

const LISTS = ['scopes', 'anyScopes', 'roles', 'anyRoles'] as const;
const FLAGS = ['requireDpop', 'requireIntrospection', 'public'] as const;
const CLAIMS = ['claims', 'anyClaims'] as const;

/** Whether `value` is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as an error message shows it: `'true' (a string)`, `["admin"] (a list)`, `1 (a number)`. */
export function shown(value: unknown): string {
  const kind = Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
  let text: string;
  try {
    text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return value === null ? 'null' : `${text.length > 60 ? `${text.slice(0, 57)}...` : text} (${kind})`;
}

/** The known key `key` most likely means: another case, singular/plural, or a typo of at most two characters. */
export function suggestion(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = known.find((k) => {
    const l = k.toLowerCase();
    return l === lower || l === `${lower}s` || `${l}s` === lower;
  });
  if (exact) return exact;
  let best: { key: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(lower, k.toLowerCase());
    if (distance <= Math.min(2, Math.floor(k.length / 3)) && (!best || distance < best.distance)) best = { key: k, distance };
  }
  return best?.key;
}

/** Reports every own key of `value` that is not one of `known`, with the likeliest meant key. */
export function checkKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  where: string,
  problems: string[],
  hints: Record<string, string> = {},
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const meant = suggestion(key, known);
    const hint = hints[key] ?? (meant ? `did you mean \`${meant}\`?` : `the keys are ${known.map((k) => `\`${k}\``).join(', ')}.`);
    problems.push(`${where}: unknown key \`${key}\`: ${hint}`);
  }
}

/**
 * Checks one location or `defaultRequirements`: its keys and the type of each requirement. Returns whether it can be
 * read as requirements (the decorator checks run only then, so that one mistake gives one message).
 */
export function checkRequirements(value: unknown, where: string, isLocation: boolean, problems: string[]): value is Record<string, unknown> {
  if (!isRecord(value)) {
    problems.push(`${where}: an object such as ${isLocation ? "{ prefix: '/admin/', scopes: ['admin'] }" : "{ scopes: ['read'] }"}; got ${shown(value)}.`);
    return false;
  }
  const before = problems.length;
  const hints: Record<string, string> = isLocation ? {} : { audience: 'a location setting: set it on a location, or `upstreamToken.audience` for every path.' };
  if (!isLocation && 'prefix' in value)
    hints.prefix = 'the default requirements apply to every path no location matches: declare a location in `locations` instead.';
  checkKeys(value, isLocation ? LOCATION_KEYS : REQUIREMENT_KEYS, where, problems, hints);
  for (const key of LISTS) {
    const list = value[key];
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === 'string'))) {
      problems.push(`${where}.${key}: a list of names such as ['admin'] (strings only); got ${shown(list)}.`);
    }
  }
  for (const key of FLAGS) {
    if (value[key] !== undefined && typeof value[key] !== 'boolean') problems.push(`${where}.${key}: true or false; got ${shown(value[key])}.`);
  }
  for (const key of CLAIMS) {
    if (value[key] !== undefined && !isRecord(value[key]))
      problems.push(`${where}.${key}: an object of claim name → expected value; got ${shown(value[key])}.`);
  }
  if (isLocation && value.audience !== undefined && typeof value.audience !== 'string') {
    problems.push(`${where}.audience: a phantom-token audience (one of \`phantom.audiences\`); got ${shown(value.audience)}.`);
  }
  return problems.length === before;
}

/**
 * Why a location's prefix can never match what it seems to, or undefined. Paths are matched decoded, without query or
 * fragment, and a path holding `;` is refused before matching: a prefix holding any of these is a mistake.
 */
export function unusablePrefix(prefix: unknown): string | undefined {
  if (typeof prefix !== 'string') return `a path prefix such as '/admin/'; got ${shown(prefix)}.`;
  if (!prefix.startsWith('/')) return `'${prefix}' must start with / (such as '/admin/').`;
  if (/[*]/.test(prefix)) return `'${prefix}' holds *: prefixes are plain strings, not globs: '/admin/' covers every path below /admin/ (not '/admin/*').`;
  if (/[?#]/.test(prefix)) return `'${prefix}' holds ? or #: the query and fragment are never part of the matched path. Write the path alone.`;
  if (prefix.includes(';')) return `'${prefix}' holds ;: paths holding ; are refused (400) before matching, so it would never match.`;
  if (prefix.includes('%')) return `'${prefix}' holds %: paths are matched decoded. Write the prefix decoded ('/café/', not '/caf%C3%A9/').`;
  if (/[\s\x00-\x1f\x7f]/.test(prefix)) return `'${JSON.stringify(prefix).slice(1, -1)}' holds whitespace or a control character.`;
  return undefined;
}

/** Levenshtein distance (short option names only). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}
