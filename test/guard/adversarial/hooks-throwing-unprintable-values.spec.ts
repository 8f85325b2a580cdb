// Adversarial review of event hooks (round 11; was attack11-hooks).
import { afterEach, describe, expect, it } from '@jest/globals';
import type { IntrospectionModuleOptions } from '../../../lib/index.js';
import { behave, FaultyServer } from '../../support/faulty-server.js';
import { createEngine, sleep } from '../../support/engine.js';
import { ADAPTERS, call, startApp } from '../../support/app.js';

const nowS = () => Math.floor(Date.now() / 1000);

/**
 * Attack (issue 11 review, defect 5): the hook guard formats the failure with
 * `(error as Error)?.message ?? String(error)`. A hook that throws (or rejects with) a value that
 * cannot be turned into a string — a null-prototype object, e.g. a parsed JSON-like record
 * `Object.create(null)` — makes the error handler itself throw: synchronously it fails the lookup of
 * a VALID token (→ 503), asynchronously it is an unhandled rejection (exit code 1 in production).
 */
describe('hooks that throw values without a string form', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function engine(events: IntrospectionModuleOptions['events']) {
    const server = await FaultyServer.start(behave.json({ active: true, scope: 'read', client_id: 'app', exp: nowS() + 600 }));
    cleanups.push(() => server.stop());
    const { service, close } = await createEngine({
      introspectionEndpoint: server.url,
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'super-secret-value-77',
      events,
    });
    cleanups.push(close);
    return service;
  }

  it('a sync hook throwing a null-prototype object does not affect the request', async () => {
    const service = await engine({
      onTokenValidated: () => {
        throw Object.create(null);
      },
    });
    // Expected: the valid token is accepted. Observed: introspect() rejects (the guard answers 503).
    await expect(service.introspect('tok_valid_sync_hook_0123456789').then((r) => r.active)).resolves.toBe(true);
  });

  it('an async hook rejecting with a null-prototype object leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    cleanups.push(async () => void process.off('unhandledRejection', listener));
    const service = await engine({
      onTokenValidated: async () => {
        throw Object.create(null);
      },
    });
    expect((await service.introspect('tok_valid_async_hook_0123456789')).active).toBe(true);
    await sleep(100);
    // Expected: none (README: "logged and ignored"). Observed: a TypeError escapes the hook guard.
    expect(unhandled.map((r) => String((r as Error)?.message ?? 'non-error'))).toEqual([]);
  });

  it.each(ADAPTERS)('over %s: an onTokenRejected hook that throws such a value never turns a 401 into a 500', async (adapter) => {
    const { app, url } = await startApp(adapter, {
      introspectionEndpoint: 'http://127.0.0.1:9/introspect',
      allowInsecureRequests: true,
      clientId: 'api',
      clientSecret: 'super-secret-value-77',
      events: {
        onTokenRejected: () => {
          throw Object.create(null);
        },
      },
    });
    cleanups.push(() => app.close());
    const statuses = [(await call(`${url}/orders`)).status, (await call(`${url}/orders`, { authorization: 'Bearer a b' })).status];
    // Expected: 401 (no token) and 400 (malformed). Observed: [500, 400] — the first hook failure of each 10 s log
    // window builds the log line, which throws out of canActivate (500); later ones are suppressed unbuilt.
    expect(statuses).toEqual([401, 400]);
  });
});
