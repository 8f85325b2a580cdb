// Microservice messages through TokenGuard however the guard was built: by Nest, as a subclass with its own
// constructor, in a useFactory provider, or by hand (`new TokenGuard(...)`). Each authorizes a message whose token the
// AS vouches for and refuses one it does not (issue 24 review, finding F2: only Nest-built guards did).
import { afterEach, describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module, Optional, type ExecutionContext, type INestApplicationContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import {
  INTROSPECTION_TELEMETRY,
  IntrospectionModule,
  IntrospectionService,
  RESOLVED_OPTIONS,
  Scopes,
  TokenGuard,
  type IntrospectionTelemetry,
  type ResolvedOptions,
} from '../../../lib/index.js';
import { InMemoryAuthorizationServer, overrideIntrospection } from '../../../lib/testing/index.js';
import { quietLogger } from '../../support/engine.js';

@Injectable()
class SubclassedGuard extends TokenGuard {
  constructor(
    reflector: Reflector,
    introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) options: ResolvedOptions,
    @Optional() @Inject(INTROSPECTION_TELEMETRY) telemetry?: IntrospectionTelemetry,
  ) {
    super(reflector, introspection, options, telemetry);
  }
}
const FACTORY_GUARD = Symbol('factory-guard');

class Handlers {
  @Scopes('read')
  handle() {}
}

function rpcContext(data: unknown): ExecutionContext {
  const transport = { pattern: 'orders.list' };
  return {
    getType: () => 'rpc',
    getHandler: () => Handlers.prototype.handle,
    getClass: () => Handlers,
    getArgs: () => [data, transport],
    switchToRpc: () => ({ getData: () => data, getContext: () => transport }),
  } as unknown as ExecutionContext;
}

describe('Microservice messages through TokenGuard, however the guard was built', () => {
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
    };
    for (const [built, guard] of Object.entries(guards)) {
      await expect(Promise.resolve(guard.canActivate(rpcContext({ token: 'good' })))).resolves.toBe(true);
      const unknown = await Promise.resolve(guard.canActivate(rpcContext({ token: 'unknown' }))).catch((error: unknown) => error);
      expect([built, unknown instanceof RpcException && (unknown.getError() as { status?: number }).status]).toEqual([built, 401]);
      const narrow = await Promise.resolve(guard.canActivate(rpcContext({ token: 'narrow' }))).catch((error: unknown) => error);
      expect([built, narrow instanceof RpcException && (narrow.getError() as { status?: number }).status]).toEqual([built, 403]);
    }
  });
});
