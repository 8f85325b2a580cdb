import { Logger, type Provider } from '@nestjs/common';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { RateLimitedLogger } from '../utils/rate-limited-logger.js';
import type { ContextAuthorizer } from '../guard/context-authorizer.js';
import { ConnectionAuthenticator } from './connection.authenticator.js';
import { MessageHandlerAudit } from './message-handler.audit.js';
import { OtherContextAuthorizer } from './other-contexts.js';

/**
 * The `ContextAuthorizer` of WebSocket messages, graphql-ws operations and microservice messages, as `TokenGuard`
 * built it for itself: with the resolved options' role mappers, whose failures are logged (rate-limited) under
 * `TokenGuard`, with the guard's wording.
 */
export function createContextAuthorizer(introspection: IntrospectionService, options: ResolvedOptions): ContextAuthorizer {
  const log = new RateLimitedLogger(new Logger('TokenGuard'));
  const roles = new RoleExtractor(options.roles.mappers, (error) =>
    log.warn('role-mapper', `A role mapper threw; the token counts as holding none of its roles: ${(error as Error)?.message ?? String(error)}`),
  );
  return new OtherContextAuthorizer(introspection, options, roles);
}

/**
 * The connections capability's providers, for `IntrospectionModule`: the authenticator and the start-up audit. The
 * `ContextAuthorizer` is attached to the resolved options (`createContextAuthorizer`, by `resolveOptions`), so that
 * every guard builds its own on the engine it was given.
 */
export const connectionsProviders: Provider[] = [
  ConnectionAuthenticator,
  // Hybrid apps: names message handlers the global guard may not reach (start-up warning).
  MessageHandlerAudit,
];

/** What `IntrospectionModule` exports of this capability: the authenticator (public). */
export const connectionsExports = [ConnectionAuthenticator];
