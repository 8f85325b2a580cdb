import type { ExecutionContext } from '@nestjs/common';

/** Where the guard stores the validated result on the request, for `@Introspected()`. */
export const INTROSPECTION_RESULT = Symbol.for('token-introspection:result');

/**
 * The HTTP request behind an execution context: HTTP (Express or Fastify), or GraphQL (the
 * `req`/`request` the GraphQL context was built with — Apollo on Express passes `req`, Mercurius
 * passes `reply.request`). Undefined for other context types (rpc, ws).
 */
export function requestOf(context: ExecutionContext): any {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest();
  if (type === 'graphql') {
    const gql = context.getArgs()[2] as Record<string, any> | undefined;
    return gql?.req ?? gql?.request ?? gql?.reply?.request;
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
