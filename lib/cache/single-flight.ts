/**
 * One shared execution: what a caller that starts the work gets besides the promise. `current` turns
 * false once the key is forgotten (an eviction happened while the work ran): the work's answer may
 * still go to the callers who were already waiting, but it predates the eviction and must not be cached.
 */
export interface FlightTicket {
  /** When the work started (epoch ms, this process's clock). */
  readonly startedAt: number;
  /** Still the flight of its key: no `forget()` since it started. */
  readonly current: boolean;
}

class Ticket implements FlightTicket {
  readonly startedAt = Date.now();
  current = true;
}

/**
 * Collapses concurrent work on one key into one execution. The entry is removed as soon as the work
 * settles — success or failure — so a failed call never poisons later lookups, and callers that
 * give up early (their own deadline) do not cancel the shared work for the others.
 * `forget()` detaches running work from its key: later callers start afresh instead of joining it.
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, { promise: Promise<T>; ticket: Ticket }>();

  /** Number of keys with work in flight. */
  get size(): number {
    return this.inflight.size;
  }

  run(key: string, work: (ticket: FlightTicket) => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing) return existing.promise;
    const ticket = new Ticket();
    const promise = work(ticket).finally(() => {
      if (this.inflight.get(key)?.ticket === ticket) this.inflight.delete(key);
    });
    this.inflight.set(key, { promise, ticket });
    return promise;
  }

  /** Detaches the work in flight for these keys (all keys for '*'): its result is no longer current. */
  forget(keys: readonly string[] | '*'): void {
    if (keys === '*') {
      for (const { ticket } of this.inflight.values()) ticket.current = false;
      this.inflight.clear();
      return;
    }
    for (const key of keys) {
      const flight = this.inflight.get(key);
      if (!flight) continue;
      flight.ticket.current = false;
      this.inflight.delete(key);
    }
  }
}
