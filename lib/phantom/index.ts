/**
 * Phantom tokens (`phantom` option): `@PhantomToken(audience?)` gives a handler a short-lived RFC 9068-shaped JWT minted
 * from the request's validated token; `PhantomTokenService` mints, rotates keys and gives the JWK Set.
 * The public names of the phantom capability; the root entry point re-exports them.
 */
export { PhantomToken, PhantomTokenPipe } from './phantom-token.decorator.js';
export { PhantomTokenError, PhantomTokenService } from './phantom-token.service.js';
export type { PhantomSigningKey, PhantomTokenOptions } from './phantom-options.interface.js';
export type { PhantomModuleOptions } from './phantom-options.interface.js';
