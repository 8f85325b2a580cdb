import { describe, expect, it } from '@jest/globals';
import { SubscriptionHeartbeat } from './subscription-heartbeat.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until `cond` holds (timers may run late on a loaded machine), at most 5 s. */
async function until(cond: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !cond() && Date.now() < end;) await sleep(5);
}

/** A heartbeat over a fake channel: `mode` says whether Redis accepts the PUBLISH and whether the subscription hears it. */
function beating(mode: { accepts: boolean; hears: boolean }) {
  const changes: boolean[] = [];
  let lost = 0;
  const heartbeat: SubscriptionHeartbeat = new SubscriptionHeartbeat(
    async (message) => {
      if (!mode.accepts) throw new Error('Redis unreachable');
      // Heard back at once (a microtask runs before any timer): never late, however loaded the machine.
      if (mode.hears) queueMicrotask(() => heartbeat.heard(JSON.parse(message) as { hb?: unknown }));
      return 1;
    },
    (suspect) => changes.push(suspect),
    () => lost++,
    20,
    15,
  );
  return { heartbeat, changes, lost: () => lost };
}

describe('eviction subscription heartbeat', () => {
  it('a subscription starts unproven (suspect, silently) and is proven by its first heartbeat heard', async () => {
    const { heartbeat, changes } = beating({ accepts: true, hears: true });
    expect(heartbeat.suspect).toBe(true);
    heartbeat.start();
    await until(() => !heartbeat.suspect);
    heartbeat.stop();
    expect(heartbeat.suspect).toBe(false);
    expect(changes).toEqual([false]);
  });

  it('a subscription that hears its heartbeats never becomes suspect again', async () => {
    const { heartbeat, changes, lost } = beating({ accepts: true, hears: true });
    heartbeat.start();
    await sleep(200);
    heartbeat.stop();
    expect(changes).toEqual([false]);
    expect(lost()).toBe(0);
  });

  it('a heartbeat Redis accepted but not heard back makes the subscription suspect (and asks to move it) until one is heard again', async () => {
    const mode = { accepts: true, hears: true };
    const { heartbeat, changes, lost } = beating(mode);
    heartbeat.start();
    await until(() => !heartbeat.suspect);
    mode.hears = false;
    await until(() => heartbeat.suspect);
    expect(changes).toEqual([false, true]);
    expect(lost()).toBeGreaterThan(0);
    mode.hears = true;
    await until(() => !heartbeat.suspect);
    heartbeat.stop();
    expect(changes).toEqual([false, true, false]);
  });

  it('heartbeats Redis refused make the subscription suspect too (this replica alone may be cut off while others publish evictions)', async () => {
    const mode = { accepts: true, hears: true };
    const { heartbeat, changes } = beating(mode);
    heartbeat.start();
    await until(() => !heartbeat.suspect);
    mode.accepts = false;
    mode.hears = false;
    await until(() => heartbeat.suspect);
    heartbeat.stop();
    expect(changes).toEqual([false, true]);
  });

  it('a subscription never heard (Redis cut off from the start) stays suspect', async () => {
    const { heartbeat, changes, lost } = beating({ accepts: false, hears: false });
    heartbeat.start();
    await until(() => lost() > 1);
    heartbeat.stop();
    expect(heartbeat.suspect).toBe(true);
    expect(changes).toEqual([]);
  });

  it('a forged or replayed heartbeat is not an eviction and does not clear a suspicion', async () => {
    const { heartbeat } = beating({ accepts: true, hears: false });
    heartbeat.start();
    await sleep(100);
    expect(heartbeat.heard({ hb: 'guessed-nonce' })).toBe(true);
    expect(heartbeat.suspect).toBe(true);
    expect(heartbeat.heard({})).toBe(false);
    heartbeat.stop();
  });
});
