let loading;
let loaded;
/** Loads jose once. */
export async function loadJose() {
    loading ??= import('jose').then((module) => (loaded = module));
    return loading;
}
/** jose, already loaded by an `await loadJose()` on this code path (synchronous helpers). */
export function jose() {
    if (!loaded)
        throw new Error('jose is used before loadJose() resolved');
    return loaded;
}
/** The `code` of a jose error (`ERR_JWT_EXPIRED`, `ERR_JWKS_NO_MATCHING_KEY`, ...), if it is one. */
export function joseCode(error) {
    const code = error?.code;
    return typeof code === 'string' && code.startsWith('ERR_J') ? code : undefined;
}
