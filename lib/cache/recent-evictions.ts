import type { Eviction } from './redis-coordinator.js';

/** An eviction as this replica made or heard it: the keys (or '*' for a purge), the claim, and when. */
export interface RecentEviction {
  readonly keys: readonly string[] | '*';
  readonly by?: Eviction['by'];
  readonly at: number;
}

/**
 * The evictions of the last `windowMs` (at most `max` of them), made here or heard from other replicas, so that they can
 * be applied again to a shared store that may have lost them: Redis replicates asynchronously, and a master that dies
 * right after acknowledging an eviction's deletes leaves a promoted replica that never saw them (the revoked token's
 * entry is back). Every replica applies them again when it sees the new master (`CacheEvictions.afterResync`).
 */
export class RecentEvictions {
  private readonly records: RecentEviction[] = [];

  constructor(
    private readonly windowMs = 30_000,
    private readonly max = 1000,
  ) {}

  add(eviction: RecentEviction): void {
    this.records.push(eviction);
    if (this.records.length > this.max) this.records.splice(0, this.records.length - this.max);
  }

  /** The evictions not older than the window, oldest first. */
  within(now = Date.now()): readonly RecentEviction[] {
    const from = this.records.findIndex((r) => now - r.at <= this.windowMs);
    if (from < 0) this.records.length = 0;
    else if (from > 0) this.records.splice(0, from);
    return [...this.records];
  }
}
