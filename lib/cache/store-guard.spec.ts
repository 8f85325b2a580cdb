import { describe, expect, it } from '@jest/globals';
import { StoreGuard } from './store-guard.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('StoreGuard: a failing shared store', () => {
  it('while one call probes a store that was failing, a burst of reads misses at once (no queue, no stacked abort listeners)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const guard = new StoreGuard(1000, 50, 1);
      await guard.soft('read', () => Promise.reject(new Error('store down'))); // opens the breaker
      await sleep(80); // past skipForMs: the next call is the probe
      let release!: (value: string) => void;
      const probe = guard.soft('read', () => new Promise<string>((resolve) => (release = resolve)));
      let reached = 0;
      const burst = await Promise.all(Array.from({ length: 50 }, () => guard.soft('read', async () => (reached++, 'hit'))));
      expect(burst.every((value) => value === undefined)).toBe(true);
      expect(reached).toBe(0);
      release('hit');
      await expect(probe).resolves.toBe('hit');
      // Closed again: reads reach the store.
      await expect(guard.soft('read', async () => 'hit')).resolves.toBe('hit');
      await sleep(10);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
