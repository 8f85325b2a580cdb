/**
 * Issue 23, item 7: each start-up warning is printed once per application — not once per `TokenGuard`
 * instance (the provider that `APP_GUARD` reuses, `@UseGuards()` instances, an `APP_GUARD` of the app's own),
 * nor once per import of `IntrospectionModule` (`forRoot` and `forRootAsync` in several modules).
 * Real Nest applications over Express and Fastify, a real oidc-provider, the log captured by a custom LoggerService.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, UseGuards, type DynamicModule, type LoggerService, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Keyv } from 'keyv';
import { IntrospectionModule, Public, Scopes, TokenGuard, type IntrospectionModuleOptions } from '../../lib/index.js';
import { ADAPTERS, call } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';

/** `@Public()` on the class, `@Scopes()` on the class too: the route is protected, and a start-up warning says so. */
@Controller('reports')
@Public()
@Scopes('read')
class ReportsController {
  @Get()
  list() {
    return { reports: [] };
  }
}

/** `@Public()` on the class, `@Scopes()` on a handler, and the guard named once more on the class. */
@Controller('orders')
@Public()
@UseGuards(TokenGuard)
class OrdersController {
  @Get()
  @Scopes('read')
  list() {
    return { orders: [] };
  }
}

/** The same controller without `@UseGuards()`, in a feature module that imports the module a second time. */
@Controller('stock')
@Public()
class StockController {
  @Get()
  @Scopes('read')
  list() {
    return { stock: [] };
  }
}

const TRAP = '@Public() is ignored because the route also requires scopes';
const LOCAL_TTL = '`cache.localTtlSeconds` is above 0 with a plain `cache.store`';

function capture(): { logger: LoggerService; warnings: string[] } {
  const warnings: string[] = [];
  const ignore = () => undefined;
  return { warnings, logger: { log: ignore, error: ignore, debug: ignore, verbose: ignore, warn: (message: unknown) => void warnings.push(String(message)) } };
}

describe.each(ADAPTERS)('each start-up warning is printed once per application (%s, real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    await as?.stop();
  });

  const options = (extra: Partial<IntrospectionModuleOptions> = {}): IntrospectionModuleOptions => ({
    ...introspectionAt(as),
    requireTokenType: true,
    // A setting with an option warning of its own, to count those too.
    cache: { store: new Keyv(), localTtlSeconds: 5 },
    ...extra,
  });

  /** Starts the app, returns its start-up warnings and whether `/reports`, `/orders` and `/stock` are protected. */
  async function start(imports: DynamicModule[], providers: Provider[] = [], feature?: DynamicModule) {
    @Module({ imports: feature ? [feature] : [], controllers: [StockController] })
    class FeatureModule {}
    @Module({ imports: [...imports, ...(feature ? [FeatureModule] : [])], controllers: [ReportsController, OrdersController], providers })
    class AppModule {}
    const { logger, warnings } = capture();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .setLogger(logger)
      .compile();
    const app = moduleRef.createNestApplication(adapter === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger });
    await app.listen(0, '127.0.0.1');
    try {
      const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const statuses = [(await call(`${url}/reports`)).status, (await call(`${url}/orders`)).status];
      if (feature) statuses.push((await call(`${url}/stock`)).status);
      return { warnings: [...warnings], statuses };
    } finally {
      await app.close();
    }
  }

  function expectEachOnce(warnings: string[], routes: string[]): void {
    // No line twice, whatever it says.
    expect(warnings.filter((line, i) => warnings.indexOf(line) !== i)).toEqual([]);
    for (const route of routes) expect(warnings.filter((l) => l.startsWith(`${route}: ${TRAP}`))).toHaveLength(1);
    expect(warnings.filter((l) => l.startsWith(LOCAL_TTL))).toHaveLength(1);
  }

  it('global guard (APP_GUARD is the TokenGuard provider) plus @UseGuards(TokenGuard): the @Public/@Scopes warning once', async () => {
    const { warnings, statuses } = await start([IntrospectionModule.forRoot(options())]);
    expect(statuses).toEqual([401, 401]);
    expectEachOnce(warnings, ['ReportsController.list', 'OrdersController.list']);
  });

  it('globalGuard: false with @UseGuards(TokenGuard) and an explicit APP_GUARD useClass: TokenGuard: once', async () => {
    const { warnings, statuses } = await start([IntrospectionModule.forRoot(options({ globalGuard: false }))], [{ provide: APP_GUARD, useClass: TokenGuard }]);
    expect(statuses).toEqual([401, 401]);
    expectEachOnce(warnings, ['ReportsController.list', 'OrdersController.list']);
  });

  it('the module imported twice (forRoot in the app, forRootAsync in a feature module): every warning once', async () => {
    const { warnings, statuses } = await start([IntrospectionModule.forRoot(options())], [], IntrospectionModule.forRootAsync({ useFactory: () => options() }));
    expect(statuses).toEqual([401, 401, 401]);
    expectEachOnce(warnings, ['ReportsController.list', 'OrdersController.list', 'StockController.list']);
  });

  it('two applications in one process each print their own warnings (once each)', async () => {
    const first = await start([IntrospectionModule.forRoot(options())]);
    const second = await start([IntrospectionModule.forRoot(options())]);
    expectEachOnce(first.warnings, ['ReportsController.list', 'OrdersController.list']);
    expectEachOnce(second.warnings, ['ReportsController.list', 'OrdersController.list']);
  });
});
