// A plain ES module: import of the packed package, plain JavaScript (decorators applied as functions),
// only the required peers installed. Runs against the real authorization server whose settings are in
// the environment (AUTH_ISSUER, AUTH_CLIENT_ID, AUTH_CLIENT_SECRET, READ_TOKEN, WRITE_TOKEN).
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthorizationServerUnavailableError, IntrospectionModule, IntrospectionService, Public, Scopes } from 'nestjs-token-introspection';
import { InMemoryAuthorizationServer, overrideIntrospection } from 'nestjs-token-introspection/testing';
import { PhantomTokenService } from 'nestjs-token-introspection/phantom';
import { ForwardAuthModule } from 'nestjs-token-introspection/forward-auth';
import * as root from 'nestjs-token-introspection';
import { check } from './check.cjs';

// A subpath entry point hands out the root's own classes (one module instance).
if (PhantomTokenService !== root.PhantomTokenService) throw new Error('import: the phantom subpath is another module instance');
if (typeof ForwardAuthModule?.forRoot !== 'function') throw new Error('import: the forward-auth subpath has no ForwardAuthModule');

class Orders {
  list() {
    return { ok: true };
  }
  create() {
    return { created: true };
  }
  hello() {
    return 'hello';
  }
}
const d = (name) => Object.getOwnPropertyDescriptor(Orders.prototype, name);
Get('orders')(Orders.prototype, 'list', d('list'));
Scopes('read')(Orders.prototype, 'list', d('list'));
Post('orders')(Orders.prototype, 'create', d('create'));
Scopes('read', 'write')(Orders.prototype, 'create', d('create'));
Get()(Orders.prototype, 'hello', d('hello'));
Public()(Orders.prototype, 'hello', d('hello'));
Controller()(Orders);

class AppModule {}
Module({
  imports: [
    IntrospectionModule.forRoot({
      issuer: process.env.AUTH_ISSUER,
      clientId: process.env.AUTH_CLIENT_ID,
      clientSecret: process.env.AUTH_CLIENT_SECRET,
      allowInsecureRequests: true,
    }),
  ],
  controllers: [Orders],
})(AppModule);

const cjs = createRequire(import.meta.url)('nestjs-token-introspection');
const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
let thrown;
try {
  await app.get(IntrospectionService).introspect('x', { timeoutMs: 1, signal: AbortSignal.abort() });
} catch (error) {
  thrown = error;
}
const failures = await check(url, 'import', [
  ['one module instance for import and require()', cjs.IntrospectionModule === IntrospectionModule],
  [
    'instanceof on engine errors holds for both entry points',
    thrown instanceof AuthorizationServerUnavailableError && thrown instanceof cjs.AuthorizationServerUnavailableError,
  ],
  ['the testing entry point loads', typeof overrideIntrospection === 'function' && typeof InMemoryAuthorizationServer === 'function'],
]);
await app.close();
process.exit(failures ? 1 : 0);
