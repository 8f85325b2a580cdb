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
/** Typed errors: `AuthorizationServerUnavailableError` (→ 503), `InvalidTokenError` (→ 401), configuration errors (start-up). */
export { AuthorizationServerUnavailableError, IntrospectionConfigurationError, InvalidTokenError, TokenIntrospectionError, describeInvalidToken, } from './errors/introspection.errors.js';
/** A short SHA-256 fingerprint of a token, for logs: never log the token itself. */
export { tokenFingerprint } from './utils/fingerprint.js';
/** Injection token of the raw module options (for `useExisting` or advanced factories). */
export { INTROSPECTION_MODULE_OPTIONS } from './introspection.module-definition.js';
