/** Injection token of the validated, defaulted options (internal). */
export const RESOLVED_OPTIONS = Symbol.for('token-introspection:resolved-options');
/** Injection token of the cache of introspection results, or null when caching is off (internal). */
export const INTROSPECTION_CACHE = Symbol.for('token-introspection:cache');
/** Injection token of the telemetry (metrics, events) shared by the layers (internal). */
export const INTROSPECTION_TELEMETRY = Symbol.for('token-introspection:telemetry');
/** Metadata: the route or controller needs no token (`@Public()`). */
export const PUBLIC_KEY = 'token-introspection:public';
/** Metadata: scopes that must all be granted (`@Scopes()`). */
export const SCOPES_KEY = 'token-introspection:scopes';
/** Metadata: scopes of which at least one must be granted (`@AnyScope()`). */
export const ANY_SCOPE_KEY = 'token-introspection:any-scope';
/** Metadata: per-route outage policy (`@OutagePolicy()`). */
export const OUTAGE_POLICY_KEY = 'token-introspection:outage-policy';
