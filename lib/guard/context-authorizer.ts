import type { ExecutionContext } from '@nestjs/common';
import type { RoleExtractor } from '../authorization/role-mappers.js';
import type { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { RouteChecks } from './route-checks.js';

/** What a handler requires, as `TokenGuard` read it from its metadata (read once per handler). */
export interface ContextRequirements {
  /** Scopes, roles, claims, step-up, per-resource audience; undefined when the handler requires none. */
  readonly checks?: RouteChecks;
}

/**
 * The port through which `TokenGuard` authorizes contexts other than HTTP requests — WebSocket messages (`ws`),
 * microservice messages (`rpc`) and graphql-ws operations — without knowing the transports. Built by each guard on
 * its own engine from the factory the composition root registered (`provideContextAuthorizer`; the connections
 * capability's `OtherContextAuthorizer`, `lib/connections/`).
 */
export interface ContextAuthorizer {
  /**
   * Whether a `graphql` context is an operation on a long-lived connection (graphql-ws: a subscription over a
   * WebSocket) rather than an HTTP request: such operations go to `authorize`, not through the HTTP path.
   */
  isConnection(context: ExecutionContext): boolean;
  /**
   * Applies the handler's requirements to the token of the context's connection or message: resolves to true, or
   * rejects with the transport's own error (`WsException`, `RpcException`, an HTTP exception for GraphQL) carrying
   * `{ status, error, message }`. Undefined when this authorizer does not handle the context (no authenticated
   * connection, no configured token source): the guard then refuses the handler.
   */
  authorize(context: ExecutionContext, route: ContextRequirements): Promise<boolean> | undefined;
}

/**
 * Builds the `ContextAuthorizer` of a guard on the engine and options it was given, with the guard's role extractor
 * (one memo of roles per answer, one rate limit on a throwing mapper's warning, whatever the transport).
 */
export type ContextAuthorizerFactory = (introspection: IntrospectionService, options: ResolvedOptions, roles: RoleExtractor) => ContextAuthorizer;

/** The connections capability's authorizer, registered once by the composition root. */
let contextAuthorizerFactory: ContextAuthorizerFactory | undefined;

/**
 * Called once by the composition root (`options/resolve-options.ts`): every `TokenGuard` — built by Nest, by hand
 * (`new TokenGuard(reflector, service, options)`), in a `useFactory` or a subclass, given the module's options or a
 * copy — authorizes non-HTTP contexts.
 */
export function provideContextAuthorizer(factory: ContextAuthorizerFactory): void {
  contextAuthorizerFactory = factory;
}

/** The registered factory, or undefined (the connections capability was not loaded). */
export function registeredContextAuthorizer(): ContextAuthorizerFactory | undefined {
  return contextAuthorizerFactory;
}

/** The warning (rate-limit key and text) for a non-HTTP context nobody authenticated: the guard refuses it. */
export function unauthenticatedContext(context: ExecutionContext): [key: string, message: string] {
  const type = context.getType<string>();
  const where = `${context.getClass()?.name ?? '?'}.${(context.getHandler() as { name?: string })?.name ?? '?'}`;
  return [
    `${type}:${where}`,
    `Refused a ${type} call to ${where}: TokenGuard cannot authenticate ${type} contexts by itself. ` +
      'Mark the handler @Public(), authenticate the transport (authenticateWebSockets(), ConnectionAuthenticator.graphqlWs(), ' +
      'the `microservice` option), or subclass TokenGuard and override handleOtherContext().',
  ];
}
