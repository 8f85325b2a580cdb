/**
 * JWT access tokens (RFC 9068, `jwt` option) validated with the authorization server's keys, and signed introspection
 * responses (RFC 9701, `signedIntrospection`); `@RequireIntrospection()` always asks the authorization server on a route.
 * `KeysHealth` is what the health indicator reports about the key endpoint.
 * The public names of the jwt capability; the root entry point re-exports them.
 */
export type { KeysHealth } from '../keys/authorization-server-keys.js';
export { RequireIntrospection } from '../decorators/require-introspection.decorator.js';
export type { JwtAccessTokenOptions, JwtMode, JwtModuleOptions, SignedIntrospectionOptions } from './jwt-options.interface.js';
