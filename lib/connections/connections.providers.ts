import { Logger, type Provider } from '@nestjs/common';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { CONTEXT_AUTHORIZER, RESOLVED_OPTIONS } from '../introspection.constants.js';
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

/** The connections capability's providers, for `IntrospectionModule`: the authenticator, the start-up audit, the port. */
export const connectionsProviders: Provider[] = [
  ConnectionAuthenticator,
  // Hybrid apps: names message handlers the global guard may not reach (start-up warning).
  MessageHandlerAudit,
  {
    // Non-HTTP contexts for `TokenGuard` (see guard/context-authorizer.ts).
    provide: CONTEXT_AUTHORIZER,
    useFactory: createContextAuthorizer,
    inject: [IntrospectionService, RESOLVED_OPTIONS],
  },
];

/**
 * What `IntrospectionModule` exports of this capability: the authenticator (public), and the port, so that a
 * `@UseGuards(TokenGuard)` built in an importing module's scope can be given it too.
 */
export const connectionsExports = [ConnectionAuthenticator, CONTEXT_AUTHORIZER];
