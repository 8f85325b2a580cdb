import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { IntrospectionModule, PhantomToken } from '../../lib/index.js';
import { startApp } from '../support/app.js';
import { capturedLogs } from '../support/engine.js';

/** Start-up checks of phantom-token configuration against the routes (a real Nest application; no request made). */
const ISSUER = 'https://edge.example';
const ORDERS = 'https://orders.internal';
const BILLING = 'https://billing.internal';

@Controller('typo')
class TypoController {
  @Get()
  typo(@PhantomToken('https://ordres.internal') phantom: string) {
    return { phantom };
  }
}

@Controller('good')
class GoodController {
  @Get()
  orders(@PhantomToken() phantom: string) {
    return { phantom };
  }

  @Get('billing')
  billing(@PhantomToken(BILLING) phantom: string) {
    return { phantom };
  }
}

/** An audience read from configuration that is not set: `@PhantomToken(undefined)`, not `@PhantomToken()`. */
const UNSET_AUDIENCE = process.env.PHANTOM_AUDIENCE_NEVER_SET_IN_TESTS;
@Controller('unset')
class UnsetAudienceController {
  @Get()
  forward(@PhantomToken(UNSET_AUDIENCE) phantom: string) {
    return { phantom };
  }
}

describe('phantom start-up checks', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  const edge = async (controllers: Array<new (...args: never[]) => unknown>, phantom?: Record<string, unknown>) => {
    const started = await startApp(
      'express',
      IntrospectionModule.forRoot({
        introspectionEndpoint: 'http://127.0.0.1:9/introspect', // never called: nothing is requested
        clientId: 'edge',
        clientSecret: 'secret',
        allowInsecureRequests: true,
        ...(phantom ? { phantom: { issuer: ISSUER, audiences: [ORDERS, BILLING], ...phantom } } : {}),
      }),
      controllers,
    );
    apps.push(started.app);
    return started;
  };

  it('an @PhantomToken(aud) audience outside phantom.audiences fails start-up, naming the route and what to change', async () => {
    await expect(edge([GoodController, TypoController], {})).rejects.toThrow(
      /TypoController\.typo: 'https:\/\/ordres\.internal' — add it to `phantom\.audiences` \(now 'https:\/\/orders\.internal', 'https:\/\/billing\.internal'\), or fix the decorator's argument/,
    );
  });

  it('@PhantomToken(undefined) passed explicitly (an unset variable) fails start-up instead of falling back to the default audience', async () => {
    await expect(edge([GoodController, UnsetAudienceController], {})).rejects.toThrow(
      /@PhantomToken\(undefined\) \(UnsetAudienceController\.forward\): the audience passed is undefined/,
    );
  });

  it('@PhantomToken() without the phantom option fails start-up', async () => {
    await expect(edge([GoodController])).rejects.toThrow(/GoodController\.orders, GoodController\.billing.*phantom tokens are off: set the `phantom` option/);
  });

  it('listed audiences and the default start; no warning with the default overlap', async () => {
    capturedLogs.length = 0;
    await edge([GoodController], {});
    expect(capturedLogs.filter((l) => /rotationOverlapSeconds/.test(l))).toEqual([]);
  });

  it('a rotation overlap shorter than the phantom token lifetime warns at start-up with the value to set', async () => {
    capturedLogs.length = 0;
    await edge([GoodController], { lifetimeSeconds: 300, rotationOverlapSeconds: 60 });
    expect(capturedLogs.filter((l) => /rotationOverlapSeconds/.test(l))).toEqual([
      expect.stringMatching(/rotationOverlapSeconds \(60 s\) is shorter than phantom\.lifetimeSeconds \(300 s\).*at least 300/),
    ]);
  });
});
