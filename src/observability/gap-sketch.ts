/** Ratio between neighbouring buckets: a percentile read from the sketch is within 5%. */
const RATIO = 1.1;
const LOG_RATIO = Math.log(RATIO);
/** Gaps below this (ms) share the first bucket. */
const SMALLEST_MS = 0.1;
/** 0.1 ms × 1.1^150 ≈ 160 s: longer gaps share the last bucket. */
const BUCKETS = 152;

/**
 * Inter-token gaps of one stream in a fixed 608-byte log-bucket sketch: mean and largest exactly,
 * p95 within 5%, in constant memory however long the stream runs (5,000 streams must fit in
 * 500 MB, SPEC PERF-4, so no stream keeps its gaps).
 */
export class GapSketch {
  private counts: Uint32Array | undefined;
  /** Gaps counted. */
  count = 0;
  /** Sum of gaps, ms. */
  sum = 0;
  /** Largest gap, ms. */
  largest = 0;

  /** Counts one gap in milliseconds. */
  add(ms: number): void {
    this.counts ??= new Uint32Array(BUCKETS);
    const index = ms < SMALLEST_MS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ms / SMALLEST_MS) / LOG_RATIO));
    this.counts[index] = this.counts[index]! + 1;
    this.count++;
    this.sum += ms;
    if (ms > this.largest) this.largest = ms;
  }

  /** Mean gap in ms, undefined before the second token. */
  get mean(): number | undefined {
    return this.count ? this.sum / this.count : undefined;
  }

  /** The q-quantile (nearest rank) in ms: the upper edge of its bucket, never above the largest gap. */
  quantile(q: number): number | undefined {
    if (!this.counts || this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.largest, SMALLEST_MS * RATIO ** i);
    }
    return this.largest;
  }
}
