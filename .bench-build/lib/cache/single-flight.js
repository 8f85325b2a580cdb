/**
 * Collapses concurrent work on one key into one execution. The entry is removed as soon as the work
 * settles — success or failure — so a failed call never poisons later lookups, and callers that
 * give up early (their own deadline) do not cancel the shared work for the others.
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
}
