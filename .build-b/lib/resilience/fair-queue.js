import { BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
/**
 * A bulkhead that is fair between callers. At most `concurrency` tasks run at once; waiting tasks
 * are admitted round-robin across their keys (e.g. client addresses), so one caller flooding the
 * queue gets one turn in k, not all of them. When `queueLimit` tasks wait, a newcomer whose key has
 * fewer waiting tasks than the busiest key takes the place of that key's newest waiting task;
 * otherwise it is rejected at once. A waiting task whose signal aborts (deadline) leaves the queue.
 *
 * cockatiel's bulkhead is first-come-first-served, which lets a single flood starve everyone else:
 * this is the one policy here that cockatiel does not provide. Rejections use cockatiel's
 * `BulkheadRejectedError`, so callers handle both the same way.
 */
export class FairQueue {
    constructor(concurrency, queueLimit) {
        this.concurrency = concurrency;
        this.queueLimit = queueLimit;
        this.running = 0;
        this.waitingCount = 0;
        /** Waiting tasks by key; Map order is the round-robin order (a served key moves to the end). */
        this.waiting = new Map();
    }
    /** Runs `fn` once a slot is free for `key`. */
    async run(key, signal, fn) {
        await this.acquire(key, signal);
        try {
            return await fn();
        }
        finally {
            this.release();
        }
    }
    acquire(key, signal) {
        if (signal.aborted)
            return Promise.reject(new TaskCancelledError());
        if (this.running < this.concurrency && this.waitingCount === 0) {
            this.running++;
            return Promise.resolve();
        }
        if (this.waitingCount >= this.queueLimit && !this.displaceFor(key)) {
            return Promise.reject(new BulkheadRejectedError(this.concurrency, this.queueLimit));
        }
        return new Promise((resolve, reject) => {
            const onAbort = () => {
                this.remove(key, waiter);
                reject(new TaskCancelledError());
            };
            const waiter = {
                resolve: () => {
                    signal.removeEventListener('abort', onAbort);
                    resolve();
                },
                reject: (error) => {
                    signal.removeEventListener('abort', onAbort);
                    reject(error);
                },
            };
            signal.addEventListener('abort', onAbort, { once: true });
            const list = this.waiting.get(key);
            if (list)
                list.push(waiter);
            else
                this.waiting.set(key, [waiter]);
            this.waitingCount++;
        });
    }
    /** The queue is full: evict the newest waiting task of the busiest key, if `key` has fewer waiting. */
    displaceFor(key) {
        let busiest;
        let most = 0;
        for (const [k, list] of this.waiting) {
            if (list.length > most) {
                most = list.length;
                busiest = k;
            }
        }
        const mine = this.waiting.get(key)?.length ?? 0;
        if (busiest === undefined || busiest === key || mine + 1 >= most)
            return false;
        const victim = this.waiting.get(busiest).pop();
        this.waitingCount--;
        victim.reject(new BulkheadRejectedError(this.concurrency, this.queueLimit));
        return true;
    }
    remove(key, waiter) {
        const list = this.waiting.get(key);
        const index = list?.indexOf(waiter) ?? -1;
        if (index < 0)
            return;
        list.splice(index, 1);
        if (list.length === 0)
            this.waiting.delete(key);
        this.waitingCount--;
    }
    release() {
        this.running--;
        const next = this.waiting.entries().next();
        if (next.done)
            return;
        const [key, list] = next.value;
        const waiter = list.shift();
        this.waiting.delete(key);
        if (list.length > 0)
            this.waiting.set(key, list); // round robin: this key goes to the back
        this.waitingCount--;
        this.running++;
        waiter.resolve();
    }
}
