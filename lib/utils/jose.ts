/**
 * jose is ESM-only, and this package is CommonJS: it is loaded on first use, so a CommonJS test runner
 * (Jest with ts-jest) never loads it unless a JOSE feature runs (private_key_jwt, JWT access tokens,
 * signed introspection responses). Errors are recognised by their stable `code`, not by class.
 */
type Jose = typeof import('jose');

let loading: Promise<Jose> | undefined;
let loaded: Jose | undefined;

/** Loads jose once. */
export async function loadJose(): Promise<Jose> {
  loading ??= import('jose').then((module) => (loaded = module));
  return loading;
}

/** jose, already loaded by an `await loadJose()` on this code path (synchronous helpers). */
export function jose(): Jose {
  if (!loaded) throw new Error('jose is used before loadJose() resolved');
  return loaded;
}

/** The `code` of a jose error (`ERR_JWT_EXPIRED`, `ERR_JWKS_NO_MATCHING_KEY`, ...), if it is one. */
export function joseCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_J') ? code : undefined;
}
