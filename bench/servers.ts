/**
 * Bench servers (a child process of bench/run.ts, so the load generator never shares their event
 * loop): the same route served by four apps on one adapter —
 *   plain:     no authentication
 *   guarded:   IntrospectionModule's global TokenGuard (+ @Scopes('read')), cached token
 *   nobreaker: the same without a circuit breaker (for the outage comparison)
 *   trivial:   an async global guard that only returns true (what any guard costs in Nest)
 *   naive:     a hand-written guard that calls the introspection endpoint on every request
 * Prints one JSON line with the ports, then serves until killed. BENCH_ONLY=guarded starts only `guarded`.
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

/** The floor: Nest's own cost of running an async global guard. */
@Injectable()
class TrivialGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    return true;
  }
}

/** Control: a trivial guard that also attaches a principal to the request, as TokenGuard does. */
const RESULT = Symbol.for('token-introspection:result');
const principal = Object.freeze({ active: true, scope: 'read', scopes: ['read'] });
@Injectable()
class AttachingGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest();
    request.user = principal;
    request[RESULT] = principal;
    return true;
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
@Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: TrivialGuard }] })
class TrivialModule {}
@Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: AttachingGuard }] })
class AttachingModule {}

async function listen(module: object): Promise<number> {
  const app = await NestFactory.create(module as never, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return Number(new URL(await app.getUrl()).port);
}

// BENCH_ONLY=guarded: just the guarded app (the junk-flood and Retry-After measurements).
const ports =
  process.env.BENCH_ONLY === 'guarded'
    ? { guarded: await listen(GuardedModule) }
    : {
        plain: await listen(PlainModule),
        guarded: await listen(GuardedModule),
        nobreaker: await listen(NoBreakerModule),
        naive: await listen(NaiveModule),
        trivial: await listen(TrivialModule),
        attaching: await listen(AttachingModule),
      };
console.log(JSON.stringify({ ready: true, adapter, ports }));
process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
