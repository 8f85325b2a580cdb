import { describe, expect, it } from '@jest/globals';
import { HttpException, type ExecutionContext } from '@nestjs/common';
import type { ContextAuthorizer } from '../guard/context-authorizer.js';
import type { RouteChecks } from '../guard/route-checks.js';
import type { IntrospectionService } from '../introspection.service.js';
import { RoleExtractor } from '../authorization/role-mappers.js';
import { resolveOptions } from '../options/resolve-options.js';
import { connections } from './connection-state.js';
import { createContextAuthorizer } from './connections.providers.js';

// Unit level: the ContextAuthorizer port as TokenGuard sees it (registered by the composition root), with a stub service and fake contexts.
const options = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's' });
const result = { active: true as const, scope: 'read', scopes: ['read'], exp: Math.floor(Date.now() / 1000) + 600 };

function contextOf(type: string, args: unknown[]): ExecutionContext {
  return {
    getType: () => type,
    getArgs: () => args,
    getClass: () => Object,
    getHandler: () => () => undefined,
    switchToHttp: () => ({ getRequest: () => args[0], getResponse: () => args[1] }),
    switchToWs: () => ({ getClient: () => args[0], getData: () => args[1] }),
  } as unknown as ExecutionContext;
}

function authorizerWith(asked: string[]): ContextAuthorizer {
  const service = { introspect: async (token: string) => (asked.push(token), result) } as unknown as IntrospectionService;
  return createContextAuthorizer(service, options, new RoleExtractor(options.roles.mappers, () => undefined));
}

/** A socket whose connection was authenticated (as `graphqlWs()` / `authenticateWebSockets()` record it). */
function authenticatedSocket(token: string): object {
  const socket = { readyState: 1, close: () => undefined };
  const principal = { token, result, presentation: { scheme: 'bearer' as const } };
  connections.set(socket, { ready: Promise.resolve(principal), principal });
  return socket;
}

const scopes = (...allScopes: string[]): RouteChecks => ({ allScopes, anyScopes: [], allRoles: [], anyRoles: [], allClaims: [], anyClaims: [] });

describe('ContextAuthorizer (connections)', () => {
  it('recognises a graphql-ws operation as a connection, and an HTTP GraphQL request as none', () => {
    const authorizer = authorizerWith([]);
    const socket = {};
    // graphql-ws context (`extra.socket`), and the one `@nestjs/apollo` puts in `req`.
    expect(authorizer.isConnection(contextOf('graphql', [{}, {}, { extra: { socket } }, {}]))).toBe(true);
    expect(authorizer.isConnection(contextOf('graphql', [{}, {}, { req: { extra: { socket } } }, {}]))).toBe(true);
    // Apollo over HTTP (`req`), Mercurius (`request`), and a plain HTTP context.
    expect(authorizer.isConnection(contextOf('graphql', [{}, {}, { req: { headers: {} } }, {}]))).toBe(false);
    expect(authorizer.isConnection(contextOf('graphql', [{}, {}, { request: { headers: {} }, extra: { socket } }, {}]))).toBe(false);
    expect(authorizer.isConnection(contextOf('http', [{ headers: {} }, {}, () => undefined]))).toBe(false);
  });

  it('answers undefined for contexts it does not handle: HTTP, an unauthenticated socket, rpc without `microservice`', () => {
    const asked: string[] = [];
    const authorizer = authorizerWith(asked);
    expect(authorizer.authorize(contextOf('http', [{ headers: {} }, {}]), {})).toBeUndefined();
    expect(authorizer.authorize(contextOf('ws', [{}, {}]), {})).toBeUndefined();
    expect(authorizer.authorize(contextOf('graphql', [{}, {}, { extra: { socket: {} } }, {}]), {})).toBeUndefined();
    expect(authorizer.authorize(contextOf('rpc', [{ token: 't' }, {}]), {})).toBeUndefined();
    expect(asked).toEqual([]);
  });

  it("re-validates the connection's token for each graphql-ws operation and applies the handler's requirements", async () => {
    const asked: string[] = [];
    const authorizer = authorizerWith(asked);
    const gql = { extra: { socket: authenticatedSocket('connection-token') } };
    await expect(authorizer.authorize(contextOf('graphql', [{}, {}, gql, {}]), { checks: scopes('read') })).resolves.toBe(true);
    expect(asked).toEqual(['connection-token']);
    // A handler the token lacks a scope for: refused with the HTTP exception the guard throws over HTTP (403).
    const refused = authorizer.authorize(contextOf('graphql', [{}, {}, gql, {}]), { checks: scopes('write') });
    await expect(refused).rejects.toBeInstanceOf(HttpException);
    await expect(refused).rejects.toMatchObject({ status: 403, response: { error: 'insufficient_scope' } });
    expect(asked).toEqual(['connection-token', 'connection-token']);
  });
});
