// Guard hot-path micro-harness: floor vs hand-rolled vs library, fresh request + fresh token string per call, via a Nest-like tryActivate.
import 'reflect-metadata';
import { createRequire } from 'node:module';
const ROOT = process.env.ROOT ?? '/work/main';
const require = createRequire(ROOT + '/package.json');
const { Module } = await import(require.resolve('@nestjs/common'));
const { NestFactory } = await import(require.resolve('@nestjs/core'));
const { ExecutionContextHost } = await import(ROOT + '/node_modules/@nestjs/core/helpers/execution-context-host.js');
const { EmbeddedAuthorizationServer, CLIENTS } = await import(ROOT + '/.build/sample/embedded-authorization-server.js');
const lib = await import(ROOT + '/.build/lib/index.js');
const as = await EmbeddedAuthorizationServer.start();
const token = await as.issueToken({ scope: 'read' });
class M {}
Module({ imports: [lib.IntrospectionModule.forRoot({ introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic, metrics: false, cache: { ttlSeconds: 600, staleIfErrorSeconds: 0 } })] })(M);
const app = await NestFactory.createApplicationContext(M, { logger: false });
const guard = app.get(lib.TokenGuard);
class Ctl { hello() {} }
lib.Scopes('read')(Ctl.prototype, 'hello', Object.getOwnPropertyDescriptor(Ctl.prototype, 'hello'));
const principal = Object.freeze({ active: true, scope: 'read', scopes: ['read'] });
const floor = { async canActivate(ctx) { ctx.switchToHttp().getRequest().user = principal; return true; } };
const cache = new Map();
const hand = { async canActivate(ctx) {
  const request = ctx.switchToHttp().getRequest();
  const header = request.headers.authorization;
  const t = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
  if (!t) throw new Error('401');
  const e = cache.get(t);
  if (!e || e.expiresAt <= Date.now()) throw new Error('miss');
  if (!e.principal.scopes.includes('read')) throw new Error('403');
  request.user = e.principal; return true; } };
cache.set(token, { principal: { active: true, scope: 'read', scopes: ['read'] }, expiresAt: Date.now() + 1e9 });
const headerBuf = Buffer.from(`Bearer ${token}`, 'latin1');
class Req { constructor(raw, headers) { this.id = 'req-1'; this.params = {}; this.raw = raw; this.query = {}; this.headers = headers; this.log = null; this.body = undefined; } }
function fresh() {
  const auth = headerBuf.toString('latin1');
  const headers = { host: '127.0.0.1:3000', 'user-agent': 'autocannon', authorization: auth };
  const raw = { method: 'GET', url: '/hello', headers, rawHeaders: ['Host', '127.0.0.1:3000', 'User-Agent', 'autocannon', 'Authorization', auth], socket: { encrypted: undefined } };
  return new Req(raw, headers);
}
async function tryActivate(g, req) {
  const ctx = new ExecutionContextHost([req, {}, undefined], Ctl, Ctl.prototype.hello);
  ctx.setType('http');
  const r = g.canActivate(ctx);
  if (typeof r === 'boolean') return r;
  return await r;
}
await guard.canActivate(new ExecutionContextHost([fresh(), {}, undefined], Ctl, Ctl.prototype.hello)); // warm the cache
const N = Number(process.env.N ?? 200000);
async function measure(g) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await tryActivate(g, g ? fresh() : fresh());
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}
const base = { canActivate() { return true; } };
const names = { base, floor, hand, lib: guard };
const res = Object.fromEntries(Object.keys(names).map((k) => [k, []]));
for (const k of Object.keys(names)) await measure(names[k]);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
for (let r = 0; r < ROUNDS; r++) for (const k of Object.keys(names)) res[k].push(await measure(names[k]));
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const b = med(res.base);
console.log(Object.entries(res).map(([k, v]) => `${k} ${(med(v) - b).toFixed(3)}`).join(' | '), `(base ${b.toFixed(3)} µs, minus base)`);
await app.close(); await as.stop(); process.exit(0);
