import type { Provider } from '@nestjs/common';
import type { RoleExtractor } from '../authorization/role-mappers.js';
import { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { ContextAuthorizer } from '../guard/context-authorizer.js';
import { ConnectionAuthenticator } from './connection.authenticator.js';
import { MessageHandlerAudit } from './message-handler.audit.js';
import { OtherContextAuthorizer } from './other-contexts.js';

/**
 * The `ContextAuthorizer` of WebSocket messages, graphql-ws operations and microservice messages, built by each
 * `TokenGuard` on its own engine and options, with its role extractor (registered by the composition root).
 */
export function createContextAuthorizer(introspection: IntrospectionService, options: ResolvedOptions, roles: RoleExtractor): ContextAuthorizer {
  return new OtherContextAuthorizer(introspection, options, roles);
}

/**
 * The connections capability's providers, for `IntrospectionModule`: the authenticator and the start-up audit. The
 * `ContextAuthorizer` is not a provider: `resolve-options.ts` registers `createContextAuthorizer` once, and every guard
 * builds its own on the engine it was given.
 */
export const connectionsProviders: Provider[] = [
  ConnectionAuthenticator,
  // Hybrid apps: names message handlers the global guard may not reach (start-up warning).
  MessageHandlerAudit,
];

/** What `IntrospectionModule` exports of this capability: the authenticator (public). */
export const connectionsExports = [ConnectionAuthenticator];
