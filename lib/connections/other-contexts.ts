import { HttpException, type ExecutionContext } from '@nestjs/common';
import type { RoleExtractor } from '../authorization/role-mappers.js';
import type { ActiveIntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { IntrospectionService } from '../introspection.service.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import { CLOSE_CODES, ConnectionRefusedError, checkToken, routeRefusal } from './connection-refusal.js';
import { connections } from './connection-state.js';
import { closeSocket } from './sockets.js';
import { acceptedTokens, requestOf } from '../guard/execution-context.js';
import type { ContextAuthorizer, ContextRequirements } from '../guard/context-authorizer.js';
import { socketFairnessKey } from '../guard/fairness-key.js';
import { bearerOrRawToken } from '../guard/token-sources.js';

// The port's requirement type, defined by the core guard (`guard/context-authorizer.ts`); still exported from here.
export type { ContextRequirements } from '../guard/context-authorizer.js';

/** Whether a GraphQL context is a graphql-ws operation (a subscription over a WebSocket), not an HTTP request. */
export function realtimeGraphqlConnection(context: ExecutionContext): boolean {
  return graphqlWsSocket(context.getArgs()[2]) !== undefined;
}

/**
 * The WebSocket of a graphql-ws operation: from `extra.socket` of its context, or of the graphql-ws context that
 * `@nestjs/apollo` puts in `req` when the app's context function returns no request.
 */
function graphqlWsSocket(gql: unknown): object | undefined {
  const g = gql as { req?: { extra?: { socket?: unknown } }; request?: unknown; extra?: { socket?: unknown } } | undefined;
  if (!g || g.request) return undefined;
  const socket = g.req ? g.req.extra?.socket : g.extra?.socket;
  return typeof socket === 'object' && socket !== null ? socket : undefined;
}

/**
 * `TokenGuard` in contexts other than HTTP requests: WebSocket messages (`ws`), microservice messages (`rpc`) and
 * graphql-ws operations. Each applies the handler's decorators — scopes, roles, claims, step-up, per-resource audience,
 * exactly as over HTTP (`evaluateRouteChecks`) — to the token of its connection or message, re-validated through the
 * cache on every message (an eviction or `exp` counts at once). Refusals are the transport's own errors carrying
 * `{ status, error, message }` (plus `acrValues` / `maxAge` for step-up): `WsException`, `RpcException`, or an HTTP
 * exception for GraphQL — never a 500.
 * A context whose transport has no configured token source answers undefined (the guard then refuses the handler).
 */
export class OtherContextAuthorizer implements ContextAuthorizer {
  private websockets?: Promise<typeof import('@nestjs/websockets')>;
  private microservices?: Promise<typeof import('@nestjs/microservices')>;

  constructor(
    private readonly introspection: IntrospectionService,
    private readonly options: ResolvedOptions,
    private readonly roles: RoleExtractor,
  ) {}

  /** A graphql-ws operation (`realtimeGraphqlConnection`). */
  isConnection(context: ExecutionContext): boolean {
    return realtimeGraphqlConnection(context);
  }

  authorize(context: ExecutionContext, route: ContextRequirements): Promise<boolean> | undefined {
    const type = context.getType<string>();
    if (type === 'ws') {
      const client = context.getArgs()[0] as object | undefined; // the socket (switchToWs().getClient())
      if (typeof client !== 'object' || client === null || !connections.has(client)) return undefined;
      return this.connection(client, client, route, (refusal) => this.wsError(refusal));
    }
    if (type === 'graphql') {
      const socket = graphqlWsSocket(context.getArgs()[2]);
      if (!socket || !connections.has(socket)) return undefined;
      return this.connection(socket, (requestOf(context) ?? context.getArgs()[2]) as object, route, (refusal) => Promise.resolve(graphqlError(refusal)));
    }
    if (type === 'rpc' && this.options.microservice) return this.message(context, route);
    return undefined;
  }

  /** A message on an authenticated connection: the connection's token, re-validated, against the handler's requirements. */
  private async connection(
    socket: object,
    resultKey: object,
    route: ContextRequirements,
    fail: (refusal: ConnectionRefusedError) => Promise<Error>,
  ): Promise<boolean> {
    const state = connections.get(socket)!;
    const principal = await state.ready;
    if (!principal) throw await fail(state.refusal ?? new ConnectionRefusedError('invalid_token', 401, 'The connection is not authenticated.'));
    let result: ActiveIntrospectionResult;
    try {
      result = await checkToken(this.introspection, this.options, principal.token, principal.presentation, principal.caller);
    } catch (error) {
      const refusal = asRefusal(error);
      if (refusal.error === 'invalid_token') closeSocket(socket, CLOSE_CODES.invalid_token, refusal.message);
      throw await fail(refusal);
    }
    principal.result = result;
    // A refusal here is about this handler only: the connection stays open (its token is still valid).
    const refused = route.checks && routeRefusal(route.checks, result, this.roles, this.options.clockSkewSeconds);
    if (refused) throw await fail(refused);
    acceptedTokens.set(resultKey, { result, token: principal.token, presentation: principal.presentation });
    return true;
  }

  /** A microservice message: its own token (payload or metadata, per `microservice.token`). */
  private async message(context: ExecutionContext, route: ContextRequirements): Promise<boolean> {
    const rpc = context.switchToRpc();
    const data = rpc.getData<unknown>();
    const transport = rpc.getContext<unknown>();
    try {
      let value: unknown;
      try {
        value = this.options.microservice!.token({ data, context: transport });
      } catch {
        throw new ConnectionRefusedError('invalid_request', 400, 'The access token could not be read from the message.');
      }
      const extraction = bearerOrRawToken(value, 'message access token', this.options.maxTokenLength);
      if (extraction.kind === 'missing' || extraction.kind === 'other_scheme')
        throw new ConnectionRefusedError('invalid_token', 401, 'An access token is required with this message.');
      if (extraction.kind === 'malformed') throw new ConnectionRefusedError('invalid_request', 400, extraction.description);
      const presentation = { scheme: 'bearer' as const };
      const result = await checkToken(this.introspection, this.options, extraction.token, presentation, messageCaller(transport));
      const refused = route.checks && routeRefusal(route.checks, result, this.roles, this.options.clockSkewSeconds);
      if (refused) throw refused;
      const key = typeof transport === 'object' && transport !== null ? transport : typeof data === 'object' && data !== null ? data : undefined;
      if (key) {
        acceptedTokens.set(key, { result, token: extraction.token, presentation });
      }
      return true;
    } catch (error) {
      throw await this.rpcError(asRefusal(error));
    }
  }

  private async wsError(refusal: ConnectionRefusedError): Promise<Error> {
    this.websockets ??= import('@nestjs/websockets');
    const { WsException } = await this.websockets;
    return new WsException(refusal.toJSON());
  }

  private async rpcError(refusal: ConnectionRefusedError): Promise<Error> {
    this.microservices ??= import('@nestjs/microservices');
    const { RpcException } = await this.microservices;
    return new RpcException(refusal.toJSON());
  }
}

/**
 * The fair-queue key of a microservice message: the sender's address when the transport exposes its socket (TCP:
 * `TcpContext.getSocketRef().netSocket`); undefined for brokers (NATS, Redis, Kafka, ...), whose peer is the broker.
 */
function messageCaller(transport: unknown): string | undefined {
  try {
    const ref = (transport as { getSocketRef?: () => { netSocket?: unknown; socket?: unknown } } | null)?.getSocketRef?.();
    return socketFairnessKey(ref?.netSocket ?? ref?.socket);
  } catch {
    return undefined;
  }
}

function asRefusal(error: unknown): ConnectionRefusedError {
  return error instanceof ConnectionRefusedError
    ? error
    : new ConnectionRefusedError('temporarily_unavailable', 503, 'The access token could not be verified right now.');
}

/** GraphQL errors of subscriptions: the HTTP exception the guard throws over HTTP, with the same body. */
function graphqlError(refusal: ConnectionRefusedError): Error {
  const { acrValues, maxAge } = refusal.stepUp ?? {};
  return new HttpException(
    {
      statusCode: refusal.status,
      message: refusal.message,
      error: refusal.error,
      ...(acrValues !== undefined ? { acrValues } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
    },
    refusal.status,
  );
}
