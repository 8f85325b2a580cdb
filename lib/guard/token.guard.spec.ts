import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IntrospectionService } from '../introspection.service.js';
import { resolveOptions } from '../options/resolve-options.js';
import { TokenGuard } from './token.guard.js';

// Unit level: the guard with a stub service, for context types an e2e suite cannot reach cheaply.
const options = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's' });
function contextOf(type: string): ExecutionContext {
  class SomeGateway {
    handle() {}
  }
  return {
    getType: () => type,
    getHandler: () => SomeGateway.prototype.handle,
    getClass: () => SomeGateway,
    getArgs: () => [],
    switchToHttp: () => {
      throw new Error('not http');
    },
  } as unknown as ExecutionContext;
}

describe('TokenGuard outside HTTP and GraphQL', () => {
  it.each(['rpc', 'ws'])('passes %s contexts through without calling the service (override handleOtherContext to authenticate them)', async (type) => {
    let calls = 0;
    const service = { introspect: async () => (calls++, { active: false, reason: 'inactive' }) } as unknown as IntrospectionService;
    const guard = new TokenGuard(new Reflector(), service, options);
    await expect(guard.canActivate(contextOf(type))).resolves.toBe(true);
    expect(calls).toBe(0);

    class StrictGuard extends TokenGuard {
      protected override handleOtherContext(): boolean {
        return false;
      }
    }
    await expect(new StrictGuard(new Reflector(), service, options).canActivate(contextOf(type))).resolves.toBe(false);
  });
});
