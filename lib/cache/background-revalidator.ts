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

/** A background lookup waiting for budget. */
interface Waiting {
  readonly kind: RevalidationKind;
  readonly token: string;
  readonly key: string;
  readonly record: ActiveRecord;
}

/**
 * Background re-introspection of cached active results (refresh-ahead and adaptive re-checks), bounded:
 * at most one per key in flight or waiting, at most `maxConcurrent` at once, at most `maxPerSecond` started
 * (token bucket, bursts up to one second's worth), none while the breaker is not closed.
 *
 * Fairness: when the budget is spent, an offer waits in a small backlog ordered by the age of the answer it
 * would re-check (`fetchedAt`, least recently verified first), and the backlog is served as budget comes
 * back. A full backlog keeps the oldest answers and drops the newest (counted as skipped, `rate` or
 * `concurrency`). So a client that hammers re-checks with its own tokens only re-checks answers it just
 * got — each of its tokens goes to the back once verified — and cannot keep another token's re-check out:
 * with N tokens asking, every one is re-checked at least every ≈ N / `maxPerSecond` seconds (or N·L /
 * `maxConcurrent`, L the AS latency), oldest first.
 *
 * `offer()` is called on the cache-hit path: a few comparisons and a set lookup, no allocation unless the
 * offer must wait; the lookup itself runs on a later turn of the event loop. Nothing it does can throw to,
 * or delay, the request that triggered it.
 */
export class BackgroundRevalidator {
  /** Keys running or waiting. */
  private readonly busy = new Set<string>();
  /** Waiting offers, oldest answer first (`record.fetchedAt` ascending); at most `backlogSize`. */
  private readonly backlog: Waiting[] = [];
  private readonly backlogSize: number;
  private running = 0;
  private readonly runs = new Set<Promise<void>>();
  private readonly maxConcurrent: number;
  private readonly ratePerMs: number;
  private readonly burst: number;
  private tokens: number;
  private refilledAt = Date.now();
  private timer?: NodeJS.Timeout;
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
    // About two rounds of the tighter bound: enough to hold the most starved answers, short enough that none waits long.
    this.backlogSize = 2 * Math.max(1, Math.min(this.maxConcurrent, Math.ceil(bounds.maxPerSecond)));
  }

  /** Background lookups in flight. */
  get size(): number {
    return this.running;
  }

  /**
   * A cache hit asks for a background lookup of `record`. A second ask for a key already running or waiting
   * is not a skip (the same work is under way) and is not counted.
   */
  offer(kind: RevalidationKind, token: string, key: string, record: ActiveRecord): void {
    if (this.busy.has(key)) return;
    if (this.stopped) return this.reporter.revalidationSkipped(kind, 'shutdown');
    const state = this.host.breaker();
    if (state !== 'closed' && state !== 'disabled') return this.reporter.revalidationSkipped(kind, 'breaker');
    if (this.backlog.length === 0 && this.running < this.maxConcurrent && this.take()) return this.start(kind, token, key, record);
    this.wait({ kind, token, key, record });
  }

  /**
   * No new background lookups (application shutdown): the waiting ones are dropped, and the promise settles
   * when those in flight have finished, or after `withinMs`, whichever comes first.
   */
  async stop(withinMs = 1000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const waiting of this.backlog.splice(0)) {
      this.busy.delete(waiting.key);
      this.skipped(waiting.kind, 'shutdown');
    }
    if (this.runs.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.runs]), new Promise<void>((resolve) => (timer = setTimeout(resolve, withinMs)))]);
    clearTimeout(timer);
  }

  /** Into the backlog by age; when full, the newest answer (the newcomer's or a waiting one) is dropped. */
  private wait(entry: Waiting): void {
    const list = this.backlog;
    const at = entry.record.fetchedAt;
    if (list.length >= this.backlogSize) {
      if (list[list.length - 1].record.fetchedAt <= at) return this.skipped(entry.kind, this.shortOf());
      const dropped = list.pop()!;
      this.busy.delete(dropped.key);
      this.skipped(dropped.kind, this.shortOf());
    }
    let i = list.length;
    while (i > 0 && list[i - 1].record.fetchedAt > at) i--;
    list.splice(i, 0, entry);
    this.busy.add(entry.key);
    this.schedule();
  }

  /** Starts waiting lookups while the budget allows; else waits for a run to end or for the bucket to refill. */
  private pump(): void {
    while (this.backlog.length > 0 && !this.stopped) {
      const state = this.host.breaker();
      if (state !== 'closed' && state !== 'disabled') {
        for (const waiting of this.backlog.splice(0)) {
          this.busy.delete(waiting.key);
          this.skipped(waiting.kind, 'breaker');
        }
        return;
      }
      const next = this.backlog[0];
      if (this.host.current(next.key) !== next.record) {
        this.backlog.shift();
        this.busy.delete(next.key);
        this.skipped(next.kind, 'superseded');
        continue;
      }
      if (this.running >= this.maxConcurrent) return; // a run ending pumps again
      if (!this.take()) return this.schedule();
      this.backlog.shift();
      this.busy.delete(next.key);
      this.start(next.kind, next.token, next.key, next.record);
    }
  }

  /** A timer for the moment the bucket holds a token again (only while offers wait for the rate). */
  private schedule(): void {
    if (this.timer !== undefined || this.stopped || this.running >= this.maxConcurrent) return;
    const ms = Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerMs));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
    this.timer.unref();
  }

  private start(kind: RevalidationKind, token: string, key: string, record: ActiveRecord): void {
    this.busy.add(key);
    this.running++;
    const run: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.run(kind, token, key, record))
      .finally(() => {
        this.busy.delete(key);
        this.running--;
        this.runs.delete(run);
        this.pump();
      })
      .catch(() => undefined); // run() catches everything; pump() only reads state — nothing may reach an unhandled rejection
    this.runs.add(run);
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
    }
  }

  /** Which bound is short when an offer cannot start: the rate if the bucket is empty, else concurrency. */
  private shortOf(): RevalidationSkipReason {
    this.refill();
    return this.tokens < 1 ? 'rate' : 'concurrency';
  }

  private skipped(kind: RevalidationKind, reason: RevalidationSkipReason): void {
    try {
      this.reporter.revalidationSkipped(kind, reason);
    } catch {
      // As in run(): a failing reporter changes nothing here.
    }
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) * this.ratePerMs);
    this.refilledAt = now;
  }

  /** Token bucket: refilled by elapsed time on demand (no timer while nothing waits). */
  private take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
