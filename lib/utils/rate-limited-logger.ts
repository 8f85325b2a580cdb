import { Logger } from '@nestjs/common';

/**
 * Logs at most one line per key per interval, so an outage does not flood the logs; the next line
 * says how many were suppressed in between.
 */
export class RateLimitedLogger {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  /** `message` may be a function: it is only built when the line is actually written. */
  warn(key: string, message: string | (() => string)): void {
    this.emit('warn', key, message);
  }

  error(key: string, message: string | (() => string)): void {
    this.emit('error', key, message);
  }

  private emit(level: 'warn' | 'error', key: string, message: string | (() => string)): void {
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
