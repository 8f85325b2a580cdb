import { describe, expect, it } from '@jest/globals';
import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IntrospectionService } from '../introspection.service.js';
import { resolveOptions } from '../options/resolve-options.js';
import { Public } from '../decorators/public.decorator.js';
import { Scopes } from '../decorators/scopes.decorator.js';
import { TokenGuard } from './token.guard.js';

// Unit level: the guard with a stub service, for context types an e2e suite cannot reach cheaply.
const options = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's' });
function contextOf(type: string, metadata: { public?: boolean; scopes?: string[] } = {}): ExecutionContext {
  class SomeGateway {
    handle() {}
  }
  if (metadata.public) Public()(SomeGateway.prototype, 'handle', Object.getOwnPropertyDescriptor(SomeGateway.prototype, 'handle')!);
  if (metadata.scopes) Scopes(...metadata.scopes)(SomeGateway);
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
  it.each(['rpc', 'ws'])(
    'refuses %s handlers by default without calling the service; @Public() ones pass; handleOtherContext can authenticate them',
    async (type) => {
      let calls = 0;
      const service = { introspect: async () => (calls++, { active: false, reason: 'inactive' }) } as unknown as IntrospectionService;
      const guard = new TokenGuard(new Reflector(), service, options);
      expect(await guard.canActivate(contextOf(type))).toBe(false);
      expect(await guard.canActivate(contextOf(type, { scopes: ['read'] }))).toBe(false);
      expect(await guard.canActivate(contextOf(type, { public: true }))).toBe(true);
      expect(calls).toBe(0);

      class MessageGuard extends TokenGuard {
        protected override async handleOtherContext(): Promise<boolean> {
          return (await this.introspection.introspect('token-from-message-metadata')).active;
        }
      }
      expect(await new MessageGuard(new Reflector(), service, options).canActivate(contextOf(type))).toBe(false);
      expect(calls).toBe(1);
    },
  );
});

describe('TokenGuard.requestUri(), as a subclass sees it', () => {
  class Exposed extends TokenGuard {
    uri(request: unknown): string {
      return this.requestUri(request);
    }
  }
  const request = { method: 'GET', url: '/orders?x=1', headers: { host: 'api.example.test' }, socket: {} };
  it.each([
    ['DPoP on', {}],
    ['dpop: false', { dpop: false as const }],
  ])('%s: the absolute URI the client addressed', (_name, extra) => {
    const resolved = resolveOptions({ introspectionEndpoint: 'https://as.example.com/i', clientId: 'api', clientSecret: 's', ...extra });
    expect(new Exposed(new Reflector(), {} as IntrospectionService, resolved).uri(request)).toBe('http://api.example.test/orders?x=1');
  });
});
