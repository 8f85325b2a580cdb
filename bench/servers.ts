/**
 * Bench servers (a child process of bench/run.ts, so the load generator never shares their event
 * loop): the same route served by four apps on one adapter —
 *   plain:     no authentication
 *   guarded:   IntrospectionModule's global TokenGuard (+ @Scopes('read')), cached token
 *   nobreaker: the same without a circuit breaker (for the outage comparison)
 *   floor:     an async global guard that only attaches a constant principal (what any guard costs in Nest)
 *   handrolled: a competent hand-written guard with a Map cache keyed by the raw token (expiry checked)
 *   naive:     a hand-written guard that calls the introspection endpoint on every request
 * Prints one JSON line with the ports, then serves until killed. BENCH_ONLY=<name> starts only that app
 * (the hot-path comparison runs each app in a process of its own, as production runs one app per process).
 * A line `cpu` on stdin prints this process's CPU time (`{"cpu":µs}`): the parent attributes it per request.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { IntrospectionModule, Scopes, type IntrospectionModuleOptions } from '../lib/index.js';

const adapter = process.env.BENCH_ADAPTER === 'fastify' ? 'fastify' : 'express';
const endpoint = process.env.BENCH_INTROSPECTION_ENDPOINT!;
const clientId = process.env.BENCH_CLIENT_ID!;
const clientSecret = process.env.BENCH_CLIENT_SECRET!;
const cacheTtlSeconds = Number(process.env.BENCH_CACHE_TTL_SECONDS ?? 60);

@Controller()
class HelloController {
  @Get('hello')
  @Scopes('read')
  hello() {
    return { hello: 'world' };
  }
}

/** What users write by hand without this library: one introspection call per request. */
@Injectable()
class NaiveIntrospectionGuard implements CanActivate {
  private readonly authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const header = context.switchToHttp().getRequest().headers.authorization as string | undefined;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!token) throw new UnauthorizedException();
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    const body = (await res.json()) as { active?: boolean; scope?: string };
    if (body.active !== true || !body.scope?.split(' ').includes('read')) throw new UnauthorizedException();
    return true;
  }
}

/** The floor: Nest's own cost of an async global guard that attaches a constant principal. */
const principal = Object.freeze({ active: true, scope: 'read', scopes: ['read'] });
@Injectable()
class FloorGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    context.switchToHttp().getRequest().user = principal;
    return true;
  }
}

/**
 * What a competent developer writes by hand: a Map cache keyed by the raw token, the answer kept until
 * min(60 s, exp), concurrent misses of one token sharing one call, the scope checked, a principal attached.
 */
@Injectable()
class HandRolledGuard implements CanActivate {
  private readonly authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  private readonly cache = new Map<string, { principal: { active: true; scope?: string; scopes: string[] }; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<{ active?: boolean; scope?: string; exp?: number }>>();
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest();
    const header = request.headers.authorization as string | undefined;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!token) throw new UnauthorizedException();
    const now = Date.now();
    let entry = this.cache.get(token);
    if (!entry || entry.expiresAt <= now) {
      let call = this.inFlight.get(token);
      if (!call) {
        call = this.introspect(token).finally(() => this.inFlight.delete(token));
        this.inFlight.set(token, call);
      }
      const body = await call;
      if (body.active !== true) throw new UnauthorizedException();
      const scopes = body.scope ? body.scope.split(' ') : [];
      entry = { principal: { active: true, scope: body.scope, scopes }, expiresAt: Math.min(now + cacheTtlSeconds * 1000, (body.exp ?? Infinity) * 1000) };
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(token, entry);
    }
    if (!entry.principal.scopes.includes('read')) throw new UnauthorizedException();
    request.user = entry.principal;
    return true;
  }
  private async introspect(token: string) {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    return (await res.json()) as { active?: boolean; scope?: string; exp?: number };
  }
}

function guarded(extra: Partial<IntrospectionModuleOptions> = {}) {
  return IntrospectionModule.forRoot({
    introspectionEndpoint: endpoint,
    allowInsecureRequests: true,
    clientId,
    clientSecret,
    metrics: false,
    cache: { ttlSeconds: cacheTtlSeconds, staleIfErrorSeconds: 0 },
    // The bench reads the reason of each 503 from its body (e.g. that junk never gets `circuit_open`).
    exposeOutageReason: true,
    // It counts AS calls under load: the start-up check's call is not part of that.
    verifyOnStartup: false,
    ...extra,
  });
}

@Module({ controllers: [HelloController] })
class PlainModule {}
@Module({ imports: [guarded()], controllers: [HelloController] })
class GuardedModule {}
@Module({ imports: [guarded({ resilience: { circuitBreaker: false } })], controllers: [HelloController] })
class NoBreakerModule {}
@Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: NaiveIntrospectionGuard }] })
class NaiveModule {}
@Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: FloorGuard }] })
class FloorModule {}
@Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: HandRolledGuard }] })
class HandRolledModule {}

async function listen(module: object): Promise<number> {
  const app = await NestFactory.create(module as never, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return Number(new URL(await app.getUrl()).port);
}

const modules = {
  plain: PlainModule,
  guarded: GuardedModule,
  nobreaker: NoBreakerModule,
  naive: NaiveModule,
  floor: FloorModule,
  handrolled: HandRolledModule,
};
// BENCH_ONLY=guarded: just the guarded app (the junk-flood and Retry-After measurements; a profile of one app).
const only = process.env.BENCH_ONLY as keyof typeof modules | undefined;
const ports: Partial<Record<keyof typeof modules, number>> = {};
for (const [name, module] of Object.entries(modules)) if (!only || name === only) ports[name as keyof typeof modules] = await listen(module);
console.log(JSON.stringify({ ready: true, adapter, ports }));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const line of chunk.split('\n')) {
    if (line.trim() === 'cpu') {
      const { user, system } = process.cpuUsage();
      console.log(JSON.stringify({ cpu: user + system }));
    }
  }
});
process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
