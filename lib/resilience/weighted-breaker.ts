import type { IBreaker } from 'cockatiel';

/**
 * cockatiel breaker that opens when the summed weights of consecutive failed attempts (no success in
 * between) reach `threshold`. The weight of each failure is read from the error cockatiel records as
 * the breaker's last failure, classified by the breaker's `handleWhen` filter just before.
 */
export class WeightedConsecutiveBreaker implements IBreaker {
  /** Summed weight of the failures since the last success. */
  state = 0;
  constructor(
    private readonly threshold: number,
    private readonly weightOfLastFailure: () => number,
  ) {}
  success(): void {
    this.state = 0;
  }
  failure(): boolean {
    this.state += this.weightOfLastFailure();
    // Weights like 1/3 do not add up exactly in floating point.
    return this.state >= this.threshold - 1e-9;
  }
}
