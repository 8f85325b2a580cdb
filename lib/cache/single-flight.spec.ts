import { describe, expect, it } from '@jest/globals';
import { SingleFlight } from './single-flight.js';

describe('SingleFlight', () => {
  it('shares one execution per key and forgets it once settled, success or failure', async () => {
    const flight = new SingleFlight<number>();
    let runs = 0;
    let release!: (v: number) => void;
    const work = () => {
      runs++;
      return new Promise<number>((r) => (release = r));
    };
    const a = flight.run('k', work);
    const b = flight.run('k', work);
    expect(a).toBe(b);
    expect(flight.size).toBe(1);
    release(7);
    expect(await a).toBe(7);
    expect(flight.size).toBe(0);
    await expect(flight.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(flight.size).toBe(0);
    expect(await flight.run('k', async () => 8)).toBe(8);
    expect(runs).toBe(1);
  });
});
