/** Injection token of the validated, defaulted options (internal). */
export const RESOLVED_OPTIONS = Symbol.for('token-introspection:resolved-options');
/** Injection token of the cache of introspection results, or null when caching is off (internal). */
export const INTROSPECTION_CACHE = Symbol.for('token-introspection:cache');
