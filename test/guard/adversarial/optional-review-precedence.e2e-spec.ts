// Adversarial review of @OptionalToken() (issue 28 part 2): precedence of a controller's @OptionalToken() vs a handler's requirements.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { OptionalToken, Public, Roles, Scopes } from '../../../lib/index.js';
import { ADAPTERS, call, startApp } from '../../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../../support/authorization-server.js';
import { capturedLogs } from '../../support/engine.js';

/** Before: the documented rule "a handler's own requirements win over a controller's @Public()". */
@Controller('before')
@Public()
class BeforeController {
  @Get('list')
  list() {
    return { ok: true };
  }

  @Get('purge')
  @Scopes('admin')
  purge() {
    return { purged: true };
  }
}

/** After the natural upgrade the issue asks for (a public catalogue that reads the user): only the class decorator changed. */
@Controller('after')
@OptionalToken()
class AfterController {
  @Get('list')
  list() {
    return { ok: true };
  }

  @Get('purge')
  @Scopes('admin')
  purge() {
    return { purged: true };
  }

  @Get('staff')
  @Roles('staff')
  staff() {
    return { staff: true };
  }
}

/**
 * FINDING (fixed): swapping a controller's @Public() for @OptionalToken() silently opened the handlers that declared
 * their own requirements (200 without a token, no start-up note). The rule now: a handler's own requirements win over a
 * controller's @OptionalToken() exactly as over a controller's @Public() — the handler needs a token (401 without one),
 * and the start-up review names it.
 */
describe.each(ADAPTERS)("a controller's @OptionalToken() and a handler's own requirements over %s", (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  let startupLogs: string[];

  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
    capturedLogs.length = 0;
    ({ app, url } = await startApp(adapter, introspectionAt(as), [BeforeController, AfterController]));
    startupLogs = capturedLogs.filter((l) => l.startsWith('AfterController.'));
  });
  afterAll(async () => {
    await app?.close();
    await as?.stop();
  });

  it("under @Public() a handler's @Scopes('admin') needs a token (the documented rule)", async () => {
    expect((await call(`${url}/before/list`)).status).toBe(200);
    expect((await call(`${url}/before/purge`)).status).toBe(401);
  });

  it("under a controller's @OptionalToken() a handler's own @Scopes() / @Roles() need a token (401 without one), and the start-up review names the handler", async () => {
    const list = await call(`${url}/after/list`);
    const purge = await call(`${url}/after/purge`);
    const staff = await call(`${url}/after/staff`);
    expect([list.status, purge.status, staff.status]).toEqual([200, 401, 401]);
    expect(purge.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(startupLogs.filter((l) => l.includes("controller's @OptionalToken() does not apply")).map((l) => l.split(':')[0])).toEqual([
      'AfterController.purge',
      'AfterController.staff',
    ]);
  });

  it("under a controller's @OptionalToken() a handler with its own @Scopes() admits a token that has them", async () => {
    const admin = await as.issueToken({ scope: 'read admin' });
    const reader = await as.issueToken({ scope: 'read' });
    expect((await call(`${url}/after/purge`, { authorization: `Bearer ${admin}` })).status).toBe(200);
    expect((await call(`${url}/after/purge`, { authorization: `Bearer ${reader}` })).status).toBe(403);
  });
});
