/**
 * Logs at most one line per key per interval, so an outage does not flood the logs; the next line
 * says how many were suppressed in between.
 */
export class RateLimitedLogger {
    constructor(logger, intervalMs = 10_000) {
        this.logger = logger;
        this.intervalMs = intervalMs;
        this.last = new Map();
    }
    /** `message` may be a function: it is only built when the line is actually written. */
    warn(key, message) {
        this.emit('warn', key, message);
    }
    error(key, message) {
        this.emit('error', key, message);
    }
    emit(level, key, message) {
        const now = Date.now();
        const seen = this.last.get(key);
        if (seen && now - seen.at < this.intervalMs) {
            seen.suppressed++;
            return;
        }
        const suffix = seen?.suppressed ? ` (${seen.suppressed} similar message(s) suppressed)` : '';
        this.last.set(key, { at: now, suppressed: 0 });
        this.logger[level]((typeof message === 'function' ? message() : message) + suffix);
    }
}
