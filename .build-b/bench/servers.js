var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
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
import { Controller, Get, Injectable, Module, UnauthorizedException } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { IntrospectionModule, Scopes } from '../lib/index.js';
const adapter = process.env.BENCH_ADAPTER === 'fastify' ? 'fastify' : 'express';
const endpoint = process.env.BENCH_INTROSPECTION_ENDPOINT;
const clientId = process.env.BENCH_CLIENT_ID;
const clientSecret = process.env.BENCH_CLIENT_SECRET;
const cacheTtlSeconds = Number(process.env.BENCH_CACHE_TTL_SECONDS ?? 60);
let HelloController = class HelloController {
    hello() {
        return { hello: 'world' };
    }
};
__decorate([
    Get('hello'),
    Scopes('read'),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", []),
    __metadata("design:returntype", void 0)
], HelloController.prototype, "hello", null);
HelloController = __decorate([
    Controller()
], HelloController);
/** What users write by hand without this library: one introspection call per request. */
let NaiveIntrospectionGuard = class NaiveIntrospectionGuard {
    constructor() {
        this.authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
    }
    async canActivate(context) {
        const header = context.switchToHttp().getRequest().headers.authorization;
        const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
        if (!token)
            throw new UnauthorizedException();
        const res = await fetch(endpoint, {
            method: 'POST',
            headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token }),
        });
        const body = (await res.json());
        if (body.active !== true || !body.scope?.split(' ').includes('read'))
            throw new UnauthorizedException();
        return true;
    }
};
NaiveIntrospectionGuard = __decorate([
    Injectable()
], NaiveIntrospectionGuard);
/** The floor: Nest's own cost of an async global guard that attaches a constant principal. */
const principal = Object.freeze({ active: true, scope: 'read', scopes: ['read'] });
let FloorGuard = class FloorGuard {
    async canActivate(context) {
        context.switchToHttp().getRequest().user = principal;
        return true;
    }
};
FloorGuard = __decorate([
    Injectable()
], FloorGuard);
/**
 * What a competent developer writes by hand: a Map cache keyed by the raw token, the answer kept until
 * min(60 s, exp), concurrent misses of one token sharing one call, the scope checked, a principal attached.
 */
let HandRolledGuard = class HandRolledGuard {
    constructor() {
        this.authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
        this.cache = new Map();
        this.inFlight = new Map();
    }
    async canActivate(context) {
        const request = context.switchToHttp().getRequest();
        const header = request.headers.authorization;
        const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
        if (!token)
            throw new UnauthorizedException();
        const now = Date.now();
        let entry = this.cache.get(token);
        if (!entry || entry.expiresAt <= now) {
            let call = this.inFlight.get(token);
            if (!call) {
                call = this.introspect(token).finally(() => this.inFlight.delete(token));
                this.inFlight.set(token, call);
            }
            const body = await call;
            if (body.active !== true)
                throw new UnauthorizedException();
            const scopes = body.scope ? body.scope.split(' ') : [];
            entry = { principal: { active: true, scope: body.scope, scopes }, expiresAt: Math.min(now + cacheTtlSeconds * 1000, (body.exp ?? Infinity) * 1000) };
            if (this.cache.size >= 10_000)
                this.cache.clear();
            this.cache.set(token, entry);
        }
        if (!entry.principal.scopes.includes('read'))
            throw new UnauthorizedException();
        request.user = entry.principal;
        return true;
    }
    async introspect(token) {
        const res = await fetch(endpoint, {
            method: 'POST',
            headers: { authorization: this.authorization, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ token }),
        });
        return (await res.json());
    }
};
HandRolledGuard = __decorate([
    Injectable()
], HandRolledGuard);
function guarded(extra = {}) {
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
let PlainModule = class PlainModule {
};
PlainModule = __decorate([
    Module({ controllers: [HelloController] })
], PlainModule);
let GuardedModule = class GuardedModule {
};
GuardedModule = __decorate([
    Module({ imports: [guarded()], controllers: [HelloController] })
], GuardedModule);
let NoBreakerModule = class NoBreakerModule {
};
NoBreakerModule = __decorate([
    Module({ imports: [guarded({ resilience: { circuitBreaker: false } })], controllers: [HelloController] })
], NoBreakerModule);
let NaiveModule = class NaiveModule {
};
NaiveModule = __decorate([
    Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: NaiveIntrospectionGuard }] })
], NaiveModule);
let FloorModule = class FloorModule {
};
FloorModule = __decorate([
    Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: FloorGuard }] })
], FloorModule);
let HandRolledModule = class HandRolledModule {
};
HandRolledModule = __decorate([
    Module({ controllers: [HelloController], providers: [{ provide: APP_GUARD, useClass: HandRolledGuard }] })
], HandRolledModule);
async function listen(module) {
    const app = await NestFactory.create(module, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false });
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
const only = process.env.BENCH_ONLY;
const ports = {};
for (const [name, module] of Object.entries(modules))
    if (!only || name === only)
        ports[name] = await listen(module);
console.log(JSON.stringify({ ready: true, adapter, ports }));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
    for (const line of chunk.split('\n')) {
        if (line.trim() === 'cpu') {
            const { user, system } = process.cpuUsage();
            console.log(JSON.stringify({ cpu: user + system }));
        }
    }
});
process.on('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
