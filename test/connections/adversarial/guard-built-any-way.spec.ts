// Non-HTTP contexts (microservice messages, graphql-ws operations) through TokenGuard however the guard was built: by Nest, as a subclass with its own
// constructor, in a useFactory provider, or by hand (`new TokenGuard(...)`). Each authorizes a message whose token the
// AS vouches for and refuses one it does not (issue 24 review, finding F2: only Nest-built guards did).
import { afterEach, describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'node:events';
import { Module, type ExecutionContext, type INestApplicationContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  ConnectionAuthenticator,
  IntrospectionModule,
  IntrospectionService,
  RESOLVED_OPTIONS,
  Roles,
  Scopes,
  TokenGuard,
  type ResolvedOptions,
} from '../../../lib/index.js';
import { InMemoryAuthorizationServer, overrideIntrospection } from '../../../lib/testing/index.js';
import { quietLogger } from '../../support/engine.js';
import { SubclassedGuard } from '../../support/subclassed-guard.js';

const FACTORY_GUARD = Symbol('factory-guard');

class Handlers {
  @Scopes('read')
  handle() {}

  @Roles('admin')
  admin() {}
}

function rpcContext(data: unknown, handler: keyof Handlers = 'handle'): ExecutionContext {
  const transport = { pattern: 'orders.list' };
  return {
    getType: () => 'rpc',
    getHandler: () => Handlers.prototype[handler],
    getClass: () => Handlers,
    getArgs: () => [data, transport],
    switchToRpc: () => ({ getData: () => data, getContext: () => transport }),
  } as unknown as ExecutionContext;
}

describe('Non-HTTP contexts through TokenGuard, however the guard was built', () => {
  let moduleRef: INestApplicationContext | undefined;
  afterEach(async () => {
    await moduleRef?.close();
    moduleRef = undefined;
  });

  it('a guard built by Nest, as a subclass, in a useFactory or by hand accepts a vouched-for token and refuses others', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('good', { scope: 'read' }).activeToken('narrow', { scope: 'other' });
    @Module({
      imports: [
        IntrospectionModule.forRoot({
          issuer: 'https://as.example.test',
          clientId: 'api',
          clientSecret: 's',
          microservice: { token: ({ data }) => (data as { token?: string })?.token },
        }),
      ],
      providers: [
        SubclassedGuard,
        {
          provide: FACTORY_GUARD,
          useFactory: (reflector: Reflector, introspection: IntrospectionService, options: ResolvedOptions) =>
            new SubclassedGuard(reflector, introspection, options),
          inject: [Reflector, IntrospectionService, RESOLVED_OPTIONS],
        },
      ],
    })
    class AppModule {}
    const compiled = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }).setLogger(quietLogger), as).compile();
    moduleRef = await compiled.init();
    const guards: Record<string, TokenGuard> = {
      nest: compiled.get(TokenGuard, { strict: false }),
      subclass: compiled.get(SubclassedGuard, { strict: false }),
      factory: compiled.get(FACTORY_GUARD, { strict: false }),
      byHand: new TokenGuard(compiled.get(Reflector), compiled.get(IntrospectionService, { strict: false }), compiled.get(RESOLVED_OPTIONS, { strict: false })),
      byHandWithCopiedOptions: new TokenGuard(compiled.get(Reflector), compiled.get(IntrospectionService, { strict: false }), {
        ...compiled.get<ResolvedOptions>(RESOLVED_OPTIONS, { strict: false }),
      }),
    };
    for (const [built, guard] of Object.entries(guards)) {
      await expect(Promise.resolve(guard.canActivate(rpcContext({ token: 'good' })))).resolves.toBe(true);
      const unknown = await Promise.resolve(guard.canActivate(rpcContext({ token: 'unknown' }))).catch((error: unknown) => error);
      expect([built, unknown instanceof RpcException && (unknown.getError() as { status?: number }).status]).toEqual([built, 401]);
      const narrow = await Promise.resolve(guard.canActivate(rpcContext({ token: 'narrow' }))).catch((error: unknown) => error);
      expect([built, narrow instanceof RpcException && (narrow.getError() as { status?: number }).status]).toEqual([built, 403]);
    }
  });

  it('a graphql-ws operation on an authenticated connection is authorized by a hand-built guard given a copy of the options', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('good', { scope: 'read' });
    @Module({ imports: [IntrospectionModule.forRoot({ issuer: 'https://as.example.test', clientId: 'api', clientSecret: 's' })] })
    class AppModule {}
    const compiled = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }).setLogger(quietLogger), as).compile();
    moduleRef = await compiled.init();
    const options = compiled.get<ResolvedOptions>(RESOLVED_OPTIONS, { strict: false });
    const guard = new TokenGuard(compiled.get(Reflector), compiled.get(IntrospectionService, { strict: false }), { ...options });
    const socket = Object.assign(new EventEmitter(), { readyState: 1, close: () => undefined });
    await compiled
      .get(ConnectionAuthenticator, { strict: false })
      .graphqlWs()
      .onConnect({ connectionParams: { authorization: 'Bearer good' }, extra: { socket } });
    const operation = {
      getType: () => 'graphql',
      getHandler: () => Handlers.prototype.handle,
      getClass: () => Handlers,
      getArgs: () => [{}, {}, { extra: { socket }, connectionParams: {} }, {}],
    } as unknown as ExecutionContext;
    await expect(Promise.resolve(guard.canActivate(operation))).resolves.toBe(true);
  });

  it('the same token over HTTP and as a message: the role mapper runs once per answer (one memo per guard)', async () => {
    let mapperCalls = 0;
    const as = new InMemoryAuthorizationServer().activeToken('good', { scope: 'read' });
    @Module({
      imports: [
        IntrospectionModule.forRoot({
          issuer: 'https://as.example.test',
          clientId: 'api',
          clientSecret: 's',
          roles: { mapper: () => (mapperCalls++, ['admin']) },
          microservice: { token: ({ data }) => (data as { token?: string })?.token },
        }),
      ],
    })
    class AppModule {}
    const compiled = await overrideIntrospection(Test.createTestingModule({ imports: [AppModule] }).setLogger(quietLogger), as).compile();
    moduleRef = await compiled.init();
    const guard = compiled.get(TokenGuard, { strict: false });
    const request = { method: 'GET', url: '/x', headers: { authorization: 'Bearer good', host: 'h' }, socket: {} };
    const http = {
      getType: () => 'http',
      getHandler: () => Handlers.prototype.admin,
      getClass: () => Handlers,
      getArgs: () => [request, {}],
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({ header: () => undefined }) }),
    } as unknown as ExecutionContext;
    await expect(Promise.resolve(guard.canActivate(http))).resolves.toBe(true);
    await expect(Promise.resolve(guard.canActivate(rpcContext({ token: 'good' }, 'admin')))).resolves.toBe(true);
    expect(mapperCalls).toBe(1);
  });
});
