import type { IntrospectionResult } from '../interfaces/introspection-result.interface.js';
import type { ResolvedOptions } from '../options/resolved-options.js';
import type { BreakerState } from '../resilience/resilience.policy.js';
import type { ActiveRecord, LocalRecord } from './local-tier.js';

/** Why a background lookup runs: the entry nears the end of its freshness, or a sampled/sensitive hit. */
export type RevalidationKind = 'refresh' | 'recheck';

/** Why a background lookup was not started. */
export type RevalidationSkipReason = 'breaker' | 'concurrency' | 'rate' | 'superseded' | 'shutdown';

/** What became of a background lookup. */
export type RevalidationOutcome = 'active' | 'revoked' | 'rejected' | 'error';

/** Where the revalidator reports (the telemetry, in the service). */
export interface RevalidationReporter {
  revalidationStarted(kind: RevalidationKind): void;
  revalidationSkipped(kind: RevalidationKind, reason: RevalidationSkipReason): void;
  /** `sinceFetchSeconds`: for 'revoked', time since the cached answer's lookup started — an upper bound of time-to-revoke. */
  revalidationFinished(kind: RevalidationKind, outcome: RevalidationOutcome, sinceFetchSeconds?: number): void;
}

/** What the revalidator needs from the service: the normal lookup path, the current record, the breaker. */
export interface RevalidationHost {
  /** The single-flight + resilience lookup, as a request's (caches its answer, evicts on `active: false`). */
  lookup(token: string, key: string): Promise<IntrospectionResult>;
  /** The record this process holds for the key now. */
  current(key: string): LocalRecord | undefined;
  breaker(): BreakerState;
}

/**
 * Background re-introspection of cached active results (refresh-ahead and adaptive re-checks), bounded:
 * at most one per key in flight, at most `maxConcurrent` at once, at most `maxPerSecond` started (token
 * bucket, bursts up to one second's worth), none while the breaker is not closed. `offer()` is called on the
 * cache-hit path: it costs a few comparisons and a map lookup, and does its work on a later turn of the
 * event loop. Nothing it does can throw to, or delay, the request that triggered it.
 */
export class BackgroundRevalidator {
  private readonly inFlight = new Set<string>();
  private readonly maxConcurrent: number;
  private readonly ratePerMs: number;
  private readonly burst: number;
  private tokens: number;
  private refilledAt = Date.now();
  private stopped = false;

  constructor(
    bounds: Exclude<ResolvedOptions['cache'], false>['revalidation'],
    private readonly host: RevalidationHost,
    private readonly reporter: RevalidationReporter,
  ) {
    this.maxConcurrent = bounds.maxConcurrent;
    this.ratePerMs = bounds.maxPerSecond / 1000;
    this.burst = Math.max(1, bounds.maxPerSecond);
    this.tokens = this.burst;
  }

  /** Background lookups in flight. */
  get size(): number {
    return this.inFlight.size;
  }

  /**
   * A cache hit asks for a background lookup of `record`. A second ask for a key already in flight is not a
   * skip (the same work is under way) and is not counted.
   */
  offer(kind: RevalidationKind, token: string, key: string, record: ActiveRecord): void {
    if (this.inFlight.has(key)) return;
    if (this.stopped) return this.reporter.revalidationSkipped(kind, 'shutdown');
    const state = this.host.breaker();
    if (state !== 'closed' && state !== 'disabled') return this.reporter.revalidationSkipped(kind, 'breaker');
    if (this.inFlight.size >= this.maxConcurrent) return this.reporter.revalidationSkipped(kind, 'concurrency');
    if (!this.take()) return this.reporter.revalidationSkipped(kind, 'rate');
    this.inFlight.add(key);
    setImmediate(() => void this.run(kind, token, key, record));
  }

  /** No new background lookups (application shutdown); those in flight finish on their own. */
  stop(): void {
    this.stopped = true;
  }

  private async run(kind: RevalidationKind, token: string, key: string, record: ActiveRecord): Promise<void> {
    try {
      // Evicted, or replaced by a newer answer, since the hit: an eviction wins over the lookup it triggered.
      if (this.stopped) return this.reporter.revalidationSkipped(kind, 'shutdown');
      if (this.host.current(key) !== record) return this.reporter.revalidationSkipped(kind, 'superseded');
      this.reporter.revalidationStarted(kind);
      let result: IntrospectionResult;
      try {
        result = await this.host.lookup(token, key);
      } catch {
        // Already counted by the lookup (metrics, breaker, rate-limited log); no request is waiting for it.
        return this.reporter.revalidationFinished(kind, 'error');
      }
      if (result.active) return this.reporter.revalidationFinished(kind, 'active');
      // The AS's own `active: false` (revoked, or expired at the AS): the lookup has evicted it everywhere.
      if (result.reason === 'inactive') {
        return this.reporter.revalidationFinished(kind, 'revoked', Math.max(0, Date.now() - record.fetchedAt) / 1000);
      }
      this.reporter.revalidationFinished(kind, 'rejected');
    } catch {
      // A reporter (user hook, metrics SDK) failing must not leave an unhandled rejection behind.
    } finally {
      this.inFlight.delete(key);
    }
  }

  /** Token bucket: refilled by elapsed time on demand (no timer). */
  private take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.ratePerMs);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
