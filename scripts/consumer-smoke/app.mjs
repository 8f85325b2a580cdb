// Uses the packed package the way a user does: only the required peers installed (no Terminus,
// OpenTelemetry or @keyv/redis), plain JavaScript, decorators applied as functions.
import 'reflect-metadata';
import { createServer } from 'node:http';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IntrospectionModule, Public, Scopes } from 'nestjs-token-introspection';

// A minimal RFC 7662 endpoint: 'good' is active with scope read, anything else inactive.
const as = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const token = new URLSearchParams(body).get('token');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(token === 'good' ? { active: true, scope: 'read', exp: Math.floor(Date.now() / 1000) + 60 } : { active: false }));
  });
});
await new Promise((r) => as.listen(0, '127.0.0.1', r));

class Hello {
  hello() {
    return { ok: true };
  }
  health() {
    return 'up';
  }
}
const d = (name) => Object.getOwnPropertyDescriptor(Hello.prototype, name);
Get('hello')(Hello.prototype, 'hello', d('hello'));
Scopes('read')(Hello.prototype, 'hello', d('hello'));
Get('health')(Hello.prototype, 'health', d('health'));
Public()(Hello.prototype, 'health', d('health'));
Controller()(Hello);
class AppModule {}
Module({
  imports: [IntrospectionModule.forRoot({ introspectionEndpoint: `http://127.0.0.1:${as.address().port}/introspect`, allowInsecureRequests: true, clientId: 'api', clientSecret: 's3cret' })],
  controllers: [Hello],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: false });
await app.listen(0, '127.0.0.1');
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
let failures = 0;
async function expectStatus(what, path, token, status) {
  const res = await fetch(url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const ok = res.status === status;
  if (!ok) failures++;
  console.log(`${ok ? '✓' : '✗'} ${what}: ${res.status}${ok ? '' : ` (expected ${status})`}`);
}
await expectStatus('public route', '/health', undefined, 200);
await expectStatus('active token', '/hello', 'good', 200);
await expectStatus('no token', '/hello', undefined, 401);
await expectStatus('inactive token', '/hello', 'bad', 401);
as.close();
as.closeAllConnections();
await expectStatus('AS down, uncached token', '/hello', 'other', 503);
await app.close();
console.log(failures ? `consumer smoke: ${failures} failed` : 'consumer smoke: all passed');
process.exit(failures ? 1 : 0);
