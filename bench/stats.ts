/** Summary of a latency sample in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** The q-quantile (0..1) of an ascending-sorted sample, nearest-rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Median of an unsorted sample. */
export function median(values: readonly number[]): number {
  return quantile(Float64Array.from(values).sort(), 0.5);
}

/** p50/p90/p99/max/mean of a sample (copied, then sorted numerically). */
export function summarize(values: ArrayLike<number>): LatencySummary {
  // Float64Array sorts numerically, unlike Array.prototype.sort's string order.
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** A growable list of samples without per-sample allocation (hot path of the load clients). */
export class SampleList {
  private data = new Float64Array(4096);
  private size = 0;

  /** Appends one sample. */
  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  /** Number of samples. */
  get length(): number {
    return this.size;
  }

  /** A copy of the samples. */
  values(): Float64Array {
    return this.data.slice(0, this.size);
  }
}

/** Rounds for display and JSON (NaN stays NaN, rendered as "-"). */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
