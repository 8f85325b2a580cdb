import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { OutagePolicy, Public, Scopes } from '../../lib/index.js';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { CLIENTS, TestAuthorizationServer } from '../support/authorization-server.js';
import { capturedLogs } from '../support/engine.js';

@Controller('open')
@Public()
class OpenController {
  @Get('free')
  free() {
    return { free: true };
  }

  @Get('scoped')
  @Scopes('read')
  scoped() {
    return { scoped: true };
  }
}

@Controller('closed')
@Scopes('read')
class ClosedController {
  @Get('status')
  @Public()
  status() {
    return { status: 'ok' };
  }

  @Get('confused')
  @Public()
  @Scopes('admin')
  confused() {
    return { confused: true };
  }

  @Get('open-on-outage')
  @OutagePolicy('fail-open')
  openOnOutage() {
    return { ok: true };
  }

  @Get('stale')
  @OutagePolicy('serve-stale')
  stale() {
    return { ok: true };
  }
}

/** Silent traps: decorators combined so that they would not do what they seem to. */
describe.each(ADAPTERS)('route metadata traps over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  let startupLogs: string[];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    capturedLogs.length = 0;
    ({ app, url } = await startApp(adapter, { introspectionEndpoint: as.introspectionEndpoint, allowInsecureRequests: true, ...CLIENTS.basic, cache: false }, [
      OpenController,
      ClosedController,
    ]));
    startupLogs = capturedLogs.filter((l) => l.startsWith('ClosedController.') || l.startsWith('OpenController.'));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it("a handler's @Scopes win over the controller's @Public(): the route needs a valid token", async () => {
    expect((await call(`${url}/open/free`)).status).toBe(200);
    expect((await call(`${url}/open/scoped`)).status).toBe(401);
    const token = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/open/scoped`, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it("a handler's @Public() is an explicit exception to the controller's @Scopes", async () => {
    expect((await call(`${url}/closed/status`)).status).toBe(200);
  });

  it('@Public() and @Scopes on the same handler: protected (the safe reading), with a start-up warning', async () => {
    expect((await call(`${url}/closed/confused`)).status).toBe(401);
    expect(startupLogs.some((l) => l.startsWith('ClosedController.confused: @Public() is ignored'))).toBe(true);
    expect(startupLogs.some((l) => l.startsWith('OpenController.scoped: @Public() is ignored'))).toBe(true);
  });

  it("start-up warnings for 'fail-open' with scopes and 'serve-stale' without a cache; none for sound routes", async () => {
    expect(startupLogs.some((l) => l.startsWith("ClosedController.openOnOutage: 'fail-open' with required scopes never lets a request through"))).toBe(true);
    expect(startupLogs.some((l) => l.startsWith("ClosedController.stale: 'serve-stale' has nothing to serve"))).toBe(true);
    expect(startupLogs.filter((l) => l.startsWith('ClosedController.status') || l.startsWith('OpenController.free'))).toEqual([]);
  });
});
