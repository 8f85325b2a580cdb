import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ADAPTERS, call, startApp } from '../support/app.js';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { capturedLogs, sleep } from '../support/engine.js';

/** A promise that records whether anyone handles its rejection (Jest swallows process-level unhandled rejections). */
class TrackedPromise<T> extends Promise<T> {
  static handled = 0;
  override then<R1 = T, R2 = never>(onFulfilled?: ((v: T) => R1 | PromiseLike<R1>) | null, onRejected?: ((e: unknown) => R2 | PromiseLike<R2>) | null) {
    if (onRejected) TrackedPromise.handled++;
    return super.then(onFulfilled, onRejected);
  }
}

/** Event hooks are user code: whatever they do, the request goes on and the process survives. */
describe.each(ADAPTERS)('event hooks that fail, over %s (real oidc-provider)', (adapter) => {
  let as: TestAuthorizationServer;
  let app: INestApplication;
  let url: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  let calls = 0;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    TrackedPromise.handled = 0;
    as = await TestAuthorizationServer.start();
    ({ app, url } = await startApp(adapter, {
      ...introspectionAt(as),
      events: {
        onTokenValidated: async () => {
          calls++;
          await sleep(1);
          throw new Error('audit sink down (async)');
        },
        onTokenRejected: (e) => {
          calls++;
          if (e.reason === 'missing') return new TrackedPromise((_resolve, reject) => setTimeout(() => reject(new Error('audit queue full')), 1));
          throw new Error('audit sink down (sync)');
        },
      },
    }));
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await app?.close();
    await as?.stop();
  });

  it('an async hook that rejects and a sync hook that throws: requests answer as usual, failures are logged (rate-limited), no unhandled rejection', async () => {
    const token = await as.issueToken({ scope: 'read' });
    capturedLogs.length = 0;
    for (let i = 0; i < 5; i++) {
      expect((await call(`${url}/orders`, { authorization: `Bearer ${token}` })).status).toBe(200);
      expect((await call(`${url}/orders`, { authorization: `Bearer unknown-${i}` })).status).toBe(401);
    }
    for (let i = 0; i < 3; i++) expect((await call(`${url}/orders`)).status).toBe(401);
    await sleep(50); // let the async hooks reject
    expect(calls).toBe(13);
    expect(unhandled).toEqual([]);
    expect(TrackedPromise.handled).toBe(3); // every rejected hook promise got a handler: nothing can crash the process
    const async = capturedLogs.filter((l) => l.includes('onTokenValidated hook failed'));
    const sync = capturedLogs.filter((l) => l.includes('onTokenRejected hook failed'));
    expect(async).toHaveLength(1); // 5 failures, one line per 10 s
    expect(async[0]).toContain('audit sink down (async)');
    expect(sync).toHaveLength(1);
  });
});
