import 'reflect-metadata';
import { Controller, Get, Module, Post, Req, type DynamicModule, type INestApplication, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import {
  AnyScope,
  Introspected,
  IntrospectionModule,
  OutagePolicy,
  Public,
  RequireIntrospection,
  Scopes,
  type ActiveIntrospectionResult,
  type IntrospectionModuleOptions,
} from '../../lib/index.js';
import { quietLogger } from './engine.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];

@Controller('public')
export class PublicController {
  @Public()
  @Get()
  hello() {
    return { hello: 'world' };
  }
}

@Controller('orders')
@Scopes('read')
export class OrdersController {
  @Get()
  list(@Introspected() token: ActiveIntrospectionResult, @Introspected('client_id') clientId: string, @Req() req: { user?: unknown }) {
    return { clientId, scopes: token.scopes, sameAsUser: req.user === token };
  }

  @Post()
  @Scopes('write')
  create() {
    return { created: true };
  }

  @Get('any')
  @AnyScope('admin', 'write')
  any() {
    return { ok: true };
  }

  @Get('stale')
  @OutagePolicy('serve-stale')
  stale(@Introspected() token: ActiveIntrospectionResult) {
    return { stale: token.stale === true };
  }

  @Get('open')
  @OutagePolicy('fail-open')
  open(@Req() req: { user?: unknown; introspectionOutage?: unknown }) {
    return { user: req.user ?? null, outage: req.introspectionOutage ?? null };
  }
}

/** A revocation-sensitive route: `@RequireIntrospection()` (the AS is asked on every request, JWTs included). */
@Controller('payments')
export class PaymentsController {
  @Get()
  @RequireIntrospection()
  pay() {
    return { paid: true };
  }
}

/** A route that can live without identity: `fail-open`, no scopes. */
@Controller('feed')
export class FeedController {
  @Get()
  @OutagePolicy('fail-open')
  feed(@Req() req: { user?: unknown; introspectionOutage?: unknown }) {
    return { user: req.user ?? null, outage: req.introspectionOutage ?? null };
  }
}

/**
 * Compiles a testing module of `imports` (logs captured by the quiet logger) and creates its Nest application
 * over the given HTTP adapter, not yet initialised nor listening (the caller adds adapters, microservices, a prefix).
 */
export async function createTestApp(adapter: AdapterName, imports: NonNullable<ModuleMetadata['imports']>): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports }).setLogger(quietLogger).compile();
  return adapter === 'express'
    ? moduleRef.createNestApplication(new ExpressAdapter(), { logger: quietLogger })
    : moduleRef.createNestApplication(new FastifyAdapter(), { logger: quietLogger });
}

/** createTestApp() of one application module made of `metadata` (the suite's imports, controllers and providers). */
export async function createModuleApp(adapter: AdapterName, metadata: ModuleMetadata): Promise<INestApplication> {
  @Module(metadata)
  class AppModule {}
  return createTestApp(adapter, [AppModule]);
}

/** Starts a real Nest application on 127.0.0.1 (random port) over the given HTTP adapter. */
export async function startApp(
  adapter: AdapterName,
  introspection: DynamicModule | IntrospectionModuleOptions,
  controllers: Array<new (...args: never[]) => unknown> = [PublicController, OrdersController, FeedController],
  extraImports: DynamicModule[] = [],
  providers: Array<new (...args: never[]) => unknown> = [],
  https?: { key: string; cert: string; requestCert?: boolean; rejectUnauthorized?: boolean },
): Promise<{ app: INestApplication; url: string }> {
  // The start-up check (on by default) would add a call to the AS that suites counting calls do not expect.
  const imported = 'module' in introspection ? introspection : IntrospectionModule.forRoot({ verifyOnStartup: false, ...introspection });
  @Module({ imports: [imported, ...extraImports], controllers, providers })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .setLogger(quietLogger)
    .compile();
  const app =
    adapter === 'express'
      ? moduleRef.createNestApplication(new ExpressAdapter(), { logger: quietLogger, httpsOptions: https })
      : moduleRef.createNestApplication(new FastifyAdapter(https ? { https } : undefined), { logger: quietLogger });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url };
}

/** A real HTTP call; returns status, headers and parsed body. */
export async function call(url: string, init: { method?: string; authorization?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.authorization !== undefined) headers.authorization = init.authorization;
  const res = await fetch(url, { method: init.method ?? 'GET', headers });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, body };
}
