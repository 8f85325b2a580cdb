import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestAuthorizationServer, introspectionAt } from '../support/authorization-server.js';
import { createEngine, sleep } from '../support/engine.js';

/**
 * Fairness of the background budget (issue 16 part 3, review finding attack16b-recheck-starvation), at the
 * service level so that only the revalidator's scheduling is measured (no HTTP connection pool in between):
 * a real oidc-provider, 40 tokens of one client re-checked on every hit as fast as the event loop allows,
 * a budget far smaller than the demand (2 in flight, 10 started per second). A victim's revoked token, used
 * now and then, must still be re-checked promptly: waiting offers are served least recently verified first,
 * so the flood's tokens — verified a moment ago — go to the back. First come first served fails this test.
 */
describe('background re-checks: one client’s flood cannot starve another token’s re-check', () => {
  let as: TestAuthorizationServer;
  beforeAll(async () => {
    as = await TestAuthorizationServer.start();
  });
  afterAll(async () => {
    await as.stop();
  });

  it('a revoked token is re-checked and refused within ~2 budget periods while 40 other tokens flood re-checks', async () => {
    const { service, close } = await createEngine({
      ...introspectionAt(as),
      cache: { ttlSeconds: 60, revalidation: { recheckFraction: 1, maxConcurrent: 2, maxPerSecond: 10, refreshAheadWindow: 0 } },
      metrics: false,
      resilience: { retries: 0 },
    });
    let stop = false;
    const flood: Array<Promise<void>> = [];
    try {
      const victim = await as.issueToken({ scope: 'read' });
      const own = await Promise.all(Array.from({ length: 40 }, () => as.issueToken({ scope: 'read' })));
      expect((await service.introspect(victim)).active).toBe(true);
      for (const t of own) expect((await service.introspect(t)).active).toBe(true);
      const hammer = async (t: string) => {
        while (!stop) {
          await service.introspect(t);
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      for (const t of own) flood.push(hammer(t), hammer(t));
      await sleep(500); // the budget is spent, the flood's offers wait or are dropped
      await as.revoke(victim);
      // Counted in the victim's own lookups (50 ms apart), not in milliseconds a loaded machine can miss: one budget
      // period is 1/10 s and the victim's answer is the oldest waiting, so it goes next (plus the AS call) — well within
      // 20 lookups; starved, it would ride out the 60 s TTL.
      const revokedAt = Date.now();
      let acceptedAfter = 0;
      let seen = false;
      while (acceptedAfter < 20 && Date.now() - revokedAt < 15_000) {
        if (!(await service.introspect(victim)).active) {
          seen = true;
          break;
        }
        acceptedAfter++;
        await sleep(50);
      }
      expect(seen).toBe(true);
    } finally {
      stop = true;
      await Promise.all(flood);
      await close();
    }
  }, 20_000);
});
