import type { TokenPresentation } from '../interfaces/introspection-result.interface.js';
import { HttpException, type ExecutionContext } from '@nestjs/common';

/**
 * Per-request data kept by `TokenGuard`, with the get/set/has/delete of a WeakMap. The value lives in a
 * symbol-keyed property of the request: a WeakMap entry per request costs about 1 µs (the request's
 * identity hash, ephemeron bookkeeping at every GC), a property a tenth of that (measured with a fresh
 * request per call, as over HTTP), and the request gets `userProperty` at the same point anyway, so its
 * shape changes no more often than before. Symbol keys are skipped by JSON, `Object.keys` and `for…in`
 * (`util.inspect(request)` shows them, beside the Authorization header it shows too). Objects that cannot
 * take a property (frozen, sealed) fall back to a WeakMap.
 */
export class RequestSlot<V> {
  private readonly key: symbol;
  private readonly fallback = new WeakMap<object, V>();

  constructor(name: string) {
    this.key = Symbol(name);
  }

  get(request: object): V | undefined {
    const value = (request as Record<symbol, V | undefined>)[this.key];
    return value !== undefined ? value : this.fallback.get(request);
  }

  set(request: object, value: V): this {
    if (Object.isExtensible(request)) (request as Record<symbol, V>)[this.key] = value;
    else this.fallback.set(request, value);
    return this;
  }

  has(request: object): boolean {
    return this.get(request) !== undefined;
  }

  delete(request: object): boolean {
    const had = this.has(request);
    if (Object.prototype.hasOwnProperty.call(request, this.key)) delete (request as Record<symbol, V>)[this.key];
    this.fallback.delete(request);
    return had;
  }
}

/** What `TokenGuard` accepted for a request: the validated result, and the token (and how it was presented) behind it. */
export interface AcceptedToken {
  /** The validated result, for `@Introspected()` (whatever `userProperty` is). */
  readonly result: object;
  /** The token and how it was presented: what phantom tokens are minted from. */
  readonly token: string;
  readonly presentation: TokenPresentation;
}

/**
 * The accepted token of each request, in one slot: every property a request gets costs a map transition,
 * and on Express each costs about 2 µs (its requests do not share cached transitions), so one, not two.
 */
export const acceptedTokens = new RequestSlot<AcceptedToken>('token-introspection:accepted');

/**
 * The HTTP request behind an execution context: HTTP (Express or Fastify), or GraphQL (the
 * `req`/`request` the GraphQL context was built with — Apollo on Express passes `req`, Mercurius
 * passes `reply.request`); for WebSocket and microservice messages, the object their validated result is
 * kept under (see connections/other-contexts.ts). Undefined otherwise.
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

/** The HTTP request of a context; a GraphQL context without `req` is the app's wiring mistake: 500 saying what to pass. */
export function requiredRequest(context: ExecutionContext): any {
  const request = requestOf(context);
  if (!request) {
    throw new HttpException({ statusCode: 500, message: 'TokenGuard found no HTTP request in the GraphQL context: pass `req` into the GraphQL context.' }, 500);
  }
  return request;
}
