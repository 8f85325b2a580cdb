import { randomUUID } from 'node:crypto';

/** Clock difference between replicas tolerated when comparing a lookup's start with an eviction (ms). */
export const CLOCK_MARGIN_MS = 1000;
/** Tombstone key of a purge (`purge()`, authorization-server reset). */
export const ALL = '*';

/**
 * A lookup's right to cache its answer. Open from the moment the lookup starts until its shared write
 * is done (not just until the lookup settles): an eviction in between revokes it, so nothing learned
 * before an eviction is cached after it.
 */
export class WriteTicket {
  readonly startedAt = Date.now();
  current = true;
  constructor(readonly key: string) {}
}

/** Left in the shared store by an eviction, for as long as a lookup that started before it may still write. */
export interface Tombstone {
  readonly at: number;
  readonly origin: string;
}

/** The shared-store key of a key's (or a claim's, or `ALL`'s) tombstone. */
export function tombstone(key: string): string {
  return `evicted:${key}`;
}

/**
 * How long a tombstone must outlive an eviction: the slowest write of a lookup that began before the
 * eviction — its deadline (`lookupDeadlineMs`), the index write (bounded at ~1 s), the entry write, and
 * clock margins.
 */
export function tombstoneTtlMs(lookupDeadlineMs: number, storeTimeoutMs: number): number {
  return lookupDeadlineMs + Math.max(1000, 5 * storeTimeoutMs) + 2 * storeTimeoutMs + 5 * CLOCK_MARGIN_MS;
}

/**
 * What makes an eviction win over lookups already in flight, in this process: the write tickets of
 * lookups (an eviction revokes them), the count of evictions seen (`epoch`: a caller holding a record
 * can tell whether one happened since), the listeners told of every eviction (single-flight), and the
 * tombstones this process writes and judges (`origin`: its own clock needs no margin).
 */
export class EvictionLedger {
  /** Identifies this process's tombstones: its own clock needs no margin. */
  readonly origin = randomUUID();
  private readonly listeners: Array<(keys: readonly string[] | '*') => void> = [];
  /** Write tickets of lookups in flight or still writing, by key. */
  private readonly open = new Map<string, Set<WriteTicket>>();
  private evictions = 0;

  /** Counts evictions seen by this process: a caller holding a record can tell whether one happened since. */
  get epoch(): number {
    return this.evictions;
  }

  /** One more eviction was seen (see `epoch`). */
  counted(): void {
    this.evictions++;
  }

  /** Called with the keys of every eviction (local or from another replica; '*' for all). */
  onEvicted(listener: (keys: readonly string[] | '*') => void): void {
    this.listeners.push(listener);
  }

  /** Opens a lookup's write ticket (see `WriteTicket`); `abandon` closes it. */
  openTicket(key: string): WriteTicket {
    const ticket = new WriteTicket(key);
    let set = this.open.get(key);
    if (!set) this.open.set(key, (set = new Set()));
    set.add(ticket);
    return ticket;
  }

  /** Closes the ticket of a lookup that failed (nothing to cache), or whose write is done. */
  abandon(ticket: WriteTicket): void {
    const set = this.open.get(ticket.key);
    if (set?.delete(ticket) && set.size === 0) this.open.delete(ticket.key);
  }

  /** Revokes the write tickets of lookups in flight for these keys (all for '*') and tells listeners (single-flight). */
  detach(keys: readonly string[] | '*'): void {
    const revoke = (set: Set<WriteTicket> | undefined) => set?.forEach((ticket) => (ticket.current = false));
    if (keys === '*') {
      this.open.forEach(revoke);
      this.open.clear();
    } else {
      for (const key of keys) {
        revoke(this.open.get(key));
        this.open.delete(key);
      }
    }
    for (const listener of this.listeners) listener(keys);
  }

  /** Whether a tombstone is at least as new as a lookup that began at `startedAt` in process `origin`. */
  voids(mark: Tombstone | undefined, startedAt: number, origin: string): boolean {
    return typeof mark?.at === 'number' && mark.at + (mark.origin === origin ? 0 : CLOCK_MARGIN_MS) >= startedAt;
  }

  /** The tombstone of an eviction made here at `at`. */
  mark(at: number): Tombstone {
    return { at, origin: this.origin };
  }
}
