import type { Clock } from '../core/clock.js';

/** How many time buckets make up one window unless told otherwise. */
export const DEFAULT_BUCKETS_PER_WINDOW = 10;

/**
 * Counters over a sliding time window, kept in a ring of equal time buckets so every call is
 * O(1) and allocation-free. The window is approximate at bucket granularity: an event counts
 * until its bucket leaves the ring, i.e. for between `windowMs − bucketMs` and `windowMs` (exactly
 * `windowMs` for an event at the start of its bucket).
 */
export class BucketRing {
  private readonly bucketMs: number;
  private readonly buckets: number;
  private readonly width: number;
  private readonly counts: Float64Array;
  private readonly totals: Float64Array;
  private newest: number;

  constructor(
    windowMs: number,
    /** How many counters each bucket holds, addressed 0 … width − 1. */
    width: number,
    private readonly clock: Clock,
    buckets = DEFAULT_BUCKETS_PER_WINDOW,
  ) {
    this.buckets = Math.max(1, Math.min(buckets, Math.floor(windowMs)));
    this.bucketMs = windowMs / this.buckets;
    this.width = width;
    this.counts = new Float64Array(this.buckets * width);
    this.totals = new Float64Array(width);
    this.newest = this.epochAt(clock.now());
  }

  /** Adds `amount` to counter `counter` in the current bucket. */
  add(counter: number, amount = 1): void {
    this.rotate();
    this.counts[this.slot(this.newest) * this.width + counter] += amount;
    this.totals[counter] += amount;
  }

  /** The counter's sum over the window. */
  total(counter: number): number {
    this.rotate();
    return this.totals[counter]!;
  }

  /** Forgets everything. */
  clear(): void {
    this.counts.fill(0);
    this.totals.fill(0);
    this.newest = this.epochAt(this.clock.now());
  }

  /** Retires the buckets that have left the window since the last call. */
  private rotate(): void {
    const epoch = this.epochAt(this.clock.now());
    // A clock that steps back keeps counting into the newest bucket rather than reopening old ones.
    if (epoch <= this.newest) return;
    const first = Math.max(this.newest + 1, epoch - this.buckets + 1);
    for (let e = first; e <= epoch; e++) this.clearSlot(this.slot(e));
    this.newest = epoch;
  }

  private clearSlot(slot: number): void {
    const start = slot * this.width;
    for (let c = 0; c < this.width; c++) {
      const value = this.counts[start + c]!;
      if (value !== 0) {
        this.totals[c] -= value;
        this.counts[start + c] = 0;
      }
    }
  }

  private epochAt(time: number): number {
    return Math.floor(time / this.bucketMs);
  }

  private slot(epoch: number): number {
    return ((epoch % this.buckets) + this.buckets) % this.buckets;
  }
}
