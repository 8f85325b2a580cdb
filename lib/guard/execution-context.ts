import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import type { ExecutionContext } from '@nestjs/common';

/**
 * The validated result of each request, for `@Introspected()` (whatever `userProperty` is). A WeakMap
 * rather than a property: adding properties to Fastify's request objects changes their shape, which
 * measurably slows every request.
 */
export const introspectionResults = new WeakMap<object, object>();

/** The token (and how it was presented) behind each accepted request: what phantom tokens are minted from. */
export const presentedTokens = new WeakMap<object, { token: string; presentation: TokenPresentation }>();

/**
 * The HTTP request behind an execution context: HTTP (Express or Fastify), or GraphQL (the
 * `req`/`request` the GraphQL context was built with — Apollo on Express passes `req`, Mercurius
 * passes `reply.request`); for WebSocket and microservice messages, the object their validated result is
 * kept under (see other-contexts.ts). Undefined otherwise.
 */
export function requestOf(context: ExecutionContext): any {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest();
  if (type === 'graphql') {
    const gql = context.getArgs()[2] as Record<string, any> | undefined;
    // graphql-ws operations have no request: the context object itself holds their result.
    return gql?.req ?? gql?.request ?? gql?.reply?.request ?? (gql?.extra?.socket ? gql : undefined);
  }
  // The socket of a WebSocket message; the transport context (else the payload) of a microservice message.
  if (type === 'ws') return context.switchToWs().getClient();
  if (type === 'rpc') {
    const [data, transport] = context.getArgs();
    return typeof transport === 'object' && transport !== null ? transport : typeof data === 'object' && data !== null ? data : undefined;
  }
  return undefined;
}

/** The HTTP response (Express `res`, Fastify `reply`) behind an execution context, when there is one. */
export function responseOf(context: ExecutionContext): any {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse();
  if (type === 'graphql') {
    const gql = context.getArgs()[2] as Record<string, any> | undefined;
    return gql?.res ?? gql?.reply ?? gql?.req?.res;
  }
  return undefined;
}
