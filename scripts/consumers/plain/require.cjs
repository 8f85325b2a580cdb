// A plain CommonJS file: require() of the packed package, plain JavaScript (decorators applied as
// functions), only the required peers installed. Runs against the real authorization server whose
// settings are in the environment (AUTH_ISSUER, AUTH_CLIENT_ID, AUTH_CLIENT_SECRET, READ_TOKEN, WRITE_TOKEN).
require('reflect-metadata');
const { Controller, Get, Module, Post } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const lib = require('nestjs-token-introspection');
const testing = require('nestjs-token-introspection/testing');
// Every subpath entry point loads, and hands out the root's own classes (one module instance).
for (const sub of ['jwt', 'dpop', 'connections', 'metadata', 'push', 'phantom', 'outbound', 'forward-auth']) require(`nestjs-token-introspection/${sub}`);
if (require('nestjs-token-introspection/dpop').DpopProofError !== lib.DpopProofError) throw new Error('require: the dpop subpath is another module instance');
if (require('nestjs-token-introspection/connections').ConnectionAuthenticator !== lib.ConnectionAuthenticator)
  throw new Error('require: the connections subpath is another module instance');
const { check } = require('./check.cjs');

const { IntrospectionModule, IntrospectionService, AuthorizationServerUnavailableError, Public, Scopes } = lib;

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

(async () => {
  const esm = await import('nestjs-token-introspection');
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const failures = await check(url, 'require()', [
    [
      'one module instance for require() and import()',
      esm.IntrospectionModule === IntrospectionModule && esm.AuthorizationServerUnavailableError === AuthorizationServerUnavailableError,
    ],
    ['the engine resolves by the class both entry points export', app.get(esm.IntrospectionService) === app.get(IntrospectionService)],
    ['the testing entry point loads', typeof testing.overrideIntrospection === 'function' && typeof testing.InMemoryAuthorizationServer === 'function'],
  ]);
  await app.close();
  process.exit(failures ? 1 : 0);
})();
