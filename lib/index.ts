/**
 * nestjs-token-introspection: accept opaque OAuth 2.0 bearer tokens in NestJS by asking the
 * authorization server (RFC 7662), with caching, single-flight, timeouts, retries, a circuit breaker
 * and a bulkhead, and honest errors when the authorization server cannot answer.
 * @packageDocumentation
 */

/** The module: `IntrospectionModule.forRoot(options)` / `forRootAsync({ useFactory, inject, imports })`. */
export { IntrospectionModule } from './introspection.module.js';
/** The engine: `introspect(token)`, `authenticate(token)`, `evict(token)`, `circuitState`. */
export { IntrospectionService } from './introspection.service.js';
/** Options accepted by `forRoot()` and returned by `forRootAsync()` factories. */
export type {
  ClientAuthMethod,
  IntrospectionCacheOptions,
  IntrospectionModuleOptions,
  IntrospectionResilienceOptions,
  OutagePolicy,
} from './interfaces/introspection-module-options.interface.js';
/** Results of `introspect()`: RFC 7662 field names, with derived `scopes` and `stale` beside them. */
export type {
  ActiveIntrospectionResult,
  InactiveIntrospectionResult,
  IntrospectOptions,
  IntrospectionResult,
} from './interfaces/introspection-result.interface.js';
/** Typed errors: `AuthorizationServerUnavailableError` (→ 503), `InvalidTokenError` (→ 401), configuration errors (start-up). */
export {
  AuthorizationServerUnavailableError,
  IntrospectionConfigurationError,
  InvalidTokenError,
  TokenIntrospectionError,
  describeInvalidToken,
} from './errors/introspection.errors.js';
export type { InvalidTokenReason, UnavailableReason } from './errors/introspection.errors.js';
/** Circuit-breaker state names reported by `IntrospectionService.circuitState`. */
export type { BreakerState } from './resilience/resilience.policy.js';
/** A short SHA-256 fingerprint of a token, for logs: never log the token itself. */
export { tokenFingerprint } from './utils/fingerprint.js';
/** Injection token of the raw module options (for `useExisting` or advanced factories). */
export { INTROSPECTION_MODULE_OPTIONS } from './introspection.module-definition.js';
