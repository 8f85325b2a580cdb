import 'reflect-metadata';
import { createRequire } from 'node:module';
const require = createRequire('/work/main/package.json');
const { Module, Controller, Get, Req } = await import(require.resolve('@nestjs/common'));
const { NestFactory } = await import(require.resolve('@nestjs/core'));
const { ExpressAdapter } = await import(require.resolve('@nestjs/platform-express'));
const { EmbeddedAuthorizationServer, CLIENTS } = await import('/work/main/.build/sample/embedded-authorization-server.js');
const lib = await import('/work/main/.build/lib/index.js');
const as = await EmbeddedAuthorizationServer.start();
const token = await as.issueToken({ scope: 'read' });
const probe = new Function('o', 'return %HasFastProperties(o)');
class C { hello(req) { return { fast: probe(req), keys: Object.keys(req).length, syms: Object.getOwnPropertySymbols(req).length }; } }
Req()(C.prototype, 'hello', 0);
Get('hello')(C.prototype, 'hello', Object.getOwnPropertyDescriptor(C.prototype, 'hello'));
Controller()(C);
class M {}
Module({ imports: [lib.IntrospectionModule.forRoot({ introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic, metrics: false })], controllers: [C] })(M);
const app = await NestFactory.create(M, new ExpressAdapter(), { logger: false });
await app.listen(0, '127.0.0.1');
const url = (await app.getUrl()) + '/hello';
for (let i = 0; i < 2000; i++) { const b = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).text(); if (i < 3 || i % 500 === 0) console.log(i, b); }
await app.close(); await as.stop(); process.exit(0);
