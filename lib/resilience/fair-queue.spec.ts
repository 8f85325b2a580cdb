import { describe, expect, it } from '@jest/globals';
import { BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import { FairQueue } from './fair-queue.js';

const never = new AbortController().signal;
const tick = () => new Promise((r) => setTimeout(r, 1));

describe('FairQueue', () => {
  it('runs at most `concurrency` tasks; waiting ones are served round-robin between callers, not first come first served', async () => {
    const queue = new FairQueue(1, 100);
    const order: string[] = [];
    let release!: () => void;
    const first = queue.run('flood', never, () => new Promise<void>((r) => (release = r)));
    const tasks = [
      ...Array.from({ length: 5 }, (_, i) => queue.run('flood', never, async () => void order.push(`flood-${i}`))),
      queue.run('user', never, async () => void order.push('user')),
    ];
    await tick();
    release();
    await Promise.all([first, ...tasks]);
    expect(order.indexOf('user')).toBeLessThanOrEqual(1); // served second at the latest, though it came last
  });

  it('full queue: a newcomer from a quieter caller displaces the busiest caller’s newest waiting task; the busiest caller is rejected at once', async () => {
    const queue = new FairQueue(1, 3);
    let release!: () => void;
    const running = queue.run('flood', never, () => new Promise<void>((r) => (release = r)));
    const waiting = Array.from({ length: 3 }, () => queue.run('flood', never, async () => 'flood'));
    await expect(queue.run('flood', never, async () => 'more')).rejects.toBeInstanceOf(BulkheadRejectedError);
    const user = queue.run('user', never, async () => 'user');
    await expect(waiting[2]).rejects.toBeInstanceOf(BulkheadRejectedError);
    release();
    await running;
    await expect(user).resolves.toBe('user');
    await expect(Promise.all(waiting.slice(0, 2))).resolves.toEqual(['flood', 'flood']);
  });

  it('a waiting task whose signal aborts leaves the queue (its place is free again)', async () => {
    const queue = new FairQueue(1, 1);
    let release!: () => void;
    const running = queue.run('a', never, () => new Promise<void>((r) => (release = r)));
    const aborter = new AbortController();
    const waiting = queue.run('a', aborter.signal, async () => 'late');
    aborter.abort();
    await expect(waiting).rejects.toBeInstanceOf(TaskCancelledError);
    const next = queue.run('a', never, async () => 'next');
    await tick();
    release();
    await running;
    await expect(next).resolves.toBe('next');
  });
});
