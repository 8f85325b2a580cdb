import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { OptionalToken, type OptionalTokenOptions, OutagePolicy, Public } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { capturedLogs } from '../support/engine.js';

@Controller('both')
@Public()
@OptionalToken()
class BothController {
  @Get()
  get() {
    return { ok: true };
  }
}

@Controller('shop')
@Public()
class ShopController {
  @Get('prices')
  @OptionalToken()
  prices() {
    return { ok: true };
  }

  @Get('confused')
  @Public()
  @OptionalToken()
  confused() {
    return { ok: true };
  }

  @Get('overridden')
  @OptionalToken()
  @OutagePolicy('fail-closed')
  overridden() {
    return { ok: true };
  }

  @Get('consistent')
  @OptionalToken({ onOutage: 'fail-closed' })
  @OutagePolicy('fail-closed')
  consistent() {
    return { ok: true };
  }
}

/** The start-up review of `@OptionalToken()` routes: contradictory metadata is reported, and the route stays optional. */
describe.each(ADAPTERS)('@OptionalToken() metadata review over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  let startupLogs: string[];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    capturedLogs.length = 0;
    ({ app, url } = await startApp(adapter, introspectionAt(as), [BothController, ShopController]));
    startupLogs = capturedLogs.filter((l) => l.startsWith('BothController.') || l.startsWith('ShopController.'));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it('@Public() and @OptionalToken() on the same level: a start-up warning, and the route reads the token (a bad one gets 401)', async () => {
    expect(startupLogs.some((l) => l.startsWith('BothController.get: @Public() is ignored beside @OptionalToken()'))).toBe(true);
    expect(startupLogs.some((l) => l.startsWith('ShopController.confused: @Public() is ignored beside @OptionalToken()'))).toBe(true);
    for (const path of ['both', 'shop/confused']) {
      expect((await call(`${url}/${path}`)).status).toBe(200);
      expect((await call(`${url}/${path}`, { authorization: 'Bearer not-a-token-the-as-issued' })).status).toBe(401);
    }
  });

  it("a handler's @OptionalToken() under a @Public() controller: optional, without a warning", async () => {
    expect(startupLogs.filter((l) => l.startsWith('ShopController.prices'))).toEqual([]);
    expect((await call(`${url}/shop/prices`)).status).toBe(200);
    expect((await call(`${url}/shop/prices`, { authorization: 'Bearer not-a-token-the-as-issued' })).status).toBe(401);
  });

  it("a route-level @OutagePolicy('fail-closed') that onOutage overrides: a start-up warning naming the fix; none when they agree", async () => {
    expect(
      startupLogs.some(
        (l) =>
          l.startsWith("ShopController.overridden: @OutagePolicy('fail-closed') does not apply") && l.includes("@OptionalToken({ onOutage: 'fail-closed' })"),
      ),
    ).toBe(true);
    expect(startupLogs.filter((l) => l.startsWith('ShopController.consistent'))).toEqual([]);
  });

  it('@OptionalToken() refuses options it does not know when the decorator is applied', () => {
    expect(() => OptionalToken({ invalidToken: 'ignore' } as unknown as OptionalTokenOptions)).toThrow(/invalidToken.*'refuse' or 'anonymous'/);
    expect(() => OptionalToken({ onOutage: 'fail-open' } as unknown as OptionalTokenOptions)).toThrow(/onOutage.*'anonymous' or 'fail-closed'/);
  });
});
