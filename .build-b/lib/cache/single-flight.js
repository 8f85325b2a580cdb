/**
 * Collapses concurrent work on one key into one execution. The entry is removed as soon as the work
 * settles — success or failure — so a failed call never poisons later lookups, and callers that
 * give up early (their own deadline) do not cancel the shared work for the others.
 * `forget()` detaches running work from its key: later callers start afresh instead of joining it
 * (after an eviction, nobody may join a lookup that started before it).
 */
export class SingleFlight {
    constructor() {
        this.inflight = new Map();
    }
    /** Number of keys with work in flight. */
    get size() {
        return this.inflight.size;
    }
    run(key, work) {
        const existing = this.inflight.get(key);
        if (existing)
            return existing;
        const promise = work().finally(() => {
            if (this.inflight.get(key) === promise)
                this.inflight.delete(key);
        });
        this.inflight.set(key, promise);
        return promise;
    }
    /** Detaches the work in flight for these keys (all keys for '*'). */
    forget(keys) {
        if (keys === '*')
            this.inflight.clear();
        else
            for (const key of keys)
                this.inflight.delete(key);
    }
}
