import type { CacheCoordinator } from './redis-coordinator.js';
import type { SharedState } from './shared-state.js';
import type { SharedTier } from './shared-tier.js';

/**
 * The `SharedState` port on the cache's stores: one-time identifiers in Redis through the cache's
 * coordinator (`cache.redis` only), revocation marks beside the eviction tombstones of the shared tier
 * (`revoked:<mark>`, any shared store). Built with neither (no cache, or an in-process one), it shares nothing.
 */
export class CacheSharedState implements SharedState {
  constructor(
    private readonly coordinator?: CacheCoordinator,
    private readonly tier?: SharedTier,
  ) {}

  get sharesMarks(): boolean {
    return this.tier !== undefined;
  }

  async claimOnce(id: string, ttlMs: number, kind?: string, value?: string): Promise<boolean | undefined> {
    return this.coordinator?.firstUse ? this.coordinator.firstUse(id, ttlMs, kind, value) : undefined;
  }

  async recorded(id: string, kind?: string): Promise<string | null> {
    return this.coordinator?.recorded ? this.coordinator.recorded(id, kind) : null;
  }

  async record(id: string, value: string, ttlMs: number, kind?: string): Promise<void> {
    await this.coordinator?.record?.(id, value, ttlMs, kind);
  }

  async release(id: string, kind?: string): Promise<void> {
    await this.coordinator?.release?.(id, kind);
  }

  async writeMark(mark: string, value: number, ttlMs: number): Promise<void> {
    await this.tier?.writeMark(mark, value, ttlMs);
  }

  async readMarks(marks: readonly string[]): Promise<Array<number | undefined>> {
    return this.tier ? this.tier.readMarks(marks) : marks.map(() => undefined);
  }
}
