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
 * FINDING (medium; high for apps upgrading from @Public(): documented in guard.md, but inconsistent with @Public() precedence and not reviewed at start-up): swapping a controller's @Public() for @OptionalToken() silently opens the handlers that declared
 * their own requirements. Under @Public() a handler's @Scopes('admin') wins (401 without a token); under a controller's
 * @OptionalToken() the same handler runs for a caller with no token at all (200), and the start-up review says nothing.
 * Either the handler's requirements should win as they do over @Public() (the handler needs a token), or the start-up
 * review should name the route.
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

  it("under @OptionalToken() a handler's @Scopes() / @Roles() never runs for a caller without a token unless the start-up review names it", async () => {
    const seen = {
      purge: (await call(`${url}/after/purge`)).status,
      staff: (await call(`${url}/after/staff`)).status,
      purgeWarned: startupLogs.some((l) => l.startsWith('AfterController.purge')),
      staffWarned: startupLogs.some((l) => l.startsWith('AfterController.staff')),
    };
    // Observed: { purge: 200, staff: 200, purgeWarned: false, staffWarned: false }.
    expect({ purgeGuarded: seen.purge === 401 || seen.purgeWarned, staffGuarded: seen.staff === 401 || seen.staffWarned, seen }).toEqual({
      purgeGuarded: true,
      staffGuarded: true,
      seen: expect.anything(),
    });
  });
});
