/**
 * The consumer test kit (`nestjs-token-introspection/testing`): declared tokens and simulated outages
 * go through the real guard, service, cache and resilience layers, over both HTTP adapters.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Inject, Injectable, Logger, Module, Optional, UseGuards, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  INTROSPECTION_TELEMETRY,
  Introspected,
  IntrospectionModule,
  IntrospectionService,
  OutagePolicy,
  RESOLVED_OPTIONS,
  Scopes,
  TokenGuard,
  type IntrospectionModuleOptions,
  type IntrospectionTelemetry,
  type ResolvedOptions,
} from '../../lib/index.js';
import { InMemoryAuthorizationServer, introspectionClientOverride, overrideIntrospection } from '../../lib/testing/index.js';
import { ADAPTERS, call } from '../support/app.js';
import { quietLogger, sleep } from '../support/engine.js';

@Controller('kit')
class KitController {
  @Get()
  @Scopes('read')
  read(@Introspected('tenant') tenant: unknown, @Introspected('aud') aud: unknown) {
    return { tenant, aud };
  }

  @Get('open')
  @OutagePolicy('fail-open')
  open() {
    return { open: true };
  }
}

/** What users write: a TokenGuard subclass with a dependency of its own, built only from public exports. */
const REJECTION_LOG = Symbol('rejection-log');
@Injectable()
class AuditingTokenGuard extends TokenGuard {
  constructor(
    reflector: Reflector,
    introspection: IntrospectionService,
    @Inject(RESOLVED_OPTIONS) options: ResolvedOptions,
    @Inject(REJECTION_LOG) private readonly rejections: number[],
    @Optional() @Inject(INTROSPECTION_TELEMETRY) telemetry?: IntrospectionTelemetry,
  ) {
    super(reflector, introspection, options, telemetry);
  }

  protected override throwRejection(context: ExecutionContext, status: number, headers: Record<string, string>, message: string): never {
    this.rejections.push(status);
    return super.throwRejection(context, status, headers, message);
  }
}

@Controller('audited')
@UseGuards(AuditingTokenGuard)
class AuditedController {
  @Get()
  @Scopes('read')
  read() {
    return { ok: true };
  }
}

const OPTIONS: IntrospectionModuleOptions = {
  issuer: 'https://as.example.test',
  clientId: 'kit-api',
  clientSecret: 'never-sent',
  audience: 'https://api.example.test',
  resilience: { retries: 0, circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 } },
};

describe.each(ADAPTERS)('test kit over %s', (adapter) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(as: InMemoryAuthorizationServer, options: IntrospectionModuleOptions = OPTIONS, byHand = false) {
    @Module({ imports: [IntrospectionModule.forRoot(options)], controllers: [KitController] })
    class AppModule {}
    const builder = Test.createTestingModule({ imports: [AppModule] });
    const override = introspectionClientOverride(as);
    const overridden = byHand
      ? builder.overrideProvider(override.provide).useFactory({ factory: override.useFactory, inject: override.inject })
      : overrideIntrospection(builder, as);
    const moduleRef = await overridden.compile();
    app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    return `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/kit`;
  }

  it('declared claims reach the handler; aud defaults to the configured audience so the real audience check passes', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: ['read'], tenant: 'acme' });
    const url = await start(as);
    const res = await call(url, { authorization: 'Bearer t' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ tenant: 'acme', aud: 'https://api.example.test' });
  });

  it('the real audience check still applies: a token declared for another audience gets 401', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: 'read', aud: 'https://other.example.test' });
    const res = await call(await start(as), { authorization: 'Bearer t' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/invalid_token/);
  });

  it('the start-up check (on by default) is skipped under the test kit: no call reaches the in-memory server, no verdict logged', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: 'read' });
    const logs: string[] = [];
    Logger.overrideLogger({ log: (m) => void logs.push(String(m)), warn: (m) => void logs.push(String(m)), error: (m) => void logs.push(String(m)) });
    try {
      const url = await start(as, { ...OPTIONS, verifyOnStartup: 'fatal' });
      await sleep(50);
      expect(as.introspectionCalls).toBe(0);
      expect(logs.filter((l) => l.includes('Start-up check'))).toEqual([]);
      expect((await call(url, { authorization: 'Bearer t' })).status).toBe(200);
      expect(as.introspectionCalls).toBe(1);
    } finally {
      Logger.overrideLogger(quietLogger);
    }
  });

  it('issueToken(): a random active token; the overrideProvider() form works as well', async () => {
    const as = new InMemoryAuthorizationServer();
    const token = as.issueToken({ scope: 'read' });
    expect(token).toMatch(/^[\w-]{43}$/);
    expect((await call(await start(as, OPTIONS, true), { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('a 429 outage passes the AS Retry-After to clients; the breaker then opens and stops calling the AS', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: 'read' });
    const url = await start(as);
    as.simulateOutage({ reason: 'rate_limited', retryAfterSeconds: 7 });
    const first = await call(url, { authorization: 'Bearer t' });
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('7');
    await call(url, { authorization: 'Bearer t' });
    const callsWhenOpen = as.introspectionCalls;
    expect((await call(url, { authorization: 'Bearer t' })).status).toBe(503);
    expect(as.introspectionCalls).toBe(callsWhenOpen);
  });

  it('outage policies are the real ones: fail-open proceeds, fail-closed answers 503, never 401', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: 'read' });
    const url = await start(as);
    as.simulateOutage({ reason: 'connection_failed' });
    expect((await call(`${url}/open`, { authorization: 'Bearer t' })).status).toBe(200);
    expect((await call(url, { authorization: 'Bearer t' })).status).toBe(503);
    as.endOutage();
  });

  it('a TokenGuard subclass with its own constructor, from public exports only, guards with the kit', async () => {
    const rejections: number[] = [];
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: 'read' });
    @Module({
      imports: [IntrospectionModule.forRoot({ ...OPTIONS, globalGuard: false })],
      controllers: [AuditedController],
      providers: [AuditingTokenGuard, { provide: REJECTION_LOG, useValue: rejections }],
    })
    class AuditedModule {}
    const moduleRef = await overrideIntrospection(Test.createTestingModule({ imports: [AuditedModule] }), as).compile();
    app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/audited`;
    expect((await call(url, { authorization: 'Bearer t' })).status).toBe(200);
    expect((await call(url)).status).toBe(401);
    expect((await call(url, { authorization: 'Bearer unknown' })).status).toBe(401);
    expect(rejections).toEqual([401, 401]);
  });

  it('reset() forgets tokens and counts', async () => {
    const as = new InMemoryAuthorizationServer().activeToken('t', { scope: 'read' });
    const url = await start(as, { ...OPTIONS, cache: false });
    expect((await call(url, { authorization: 'Bearer t' })).status).toBe(200);
    as.reset();
    expect(as.introspectionCalls).toBe(0);
    expect((await call(url, { authorization: 'Bearer t' })).status).toBe(401);
  });
});
