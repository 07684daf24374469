import type { Clock } from '../core/clock.js';
import { BucketRing } from './bucket-ring.js';
import { LATENCY_BIN_COUNT, latencyBin, latencyBinUpperMs, percentileRank } from './latency-bins.js';

/** A breaker window's counts, as plain data. */
export interface BreakerWindowCounts {
  /** Finished calls: successes plus failures. */
  calls: number;
  successes: number;
  failures: number;
  /** Successful calls whose stream stalled. */
  stalls: number;
  /** Successful calls that reported a time to first token. */
  ttftSamples: number;
  /** Of those, how many took longer than the breaker's `ttftP95Ms`. */
  ttftOverLimit: number;
}

const SUCCESSES = 0;
const FAILURES = 1;
const STALLS = 2;
const TTFT_SAMPLES = 3;
const TTFT_OVER = 4;
const FIRST_BIN = 5;

/**
 * The outcomes a breaker judges by, over a sliding window of time buckets. Whether the TTFT p95
 * passes the limit is decided exactly, by counting samples over the limit (the p95 is above it
 * exactly when more than `n − rank(95 %)` samples are); the p95 value itself, for display, comes
 * from log-scale bins and overstates by at most ~9 %.
 */
export class BreakerWindow {
  private readonly ring: BucketRing;

  constructor(
    windowMs: number,
    private readonly ttftLimitMs: number | undefined,
    clock: Clock,
  ) {
    this.ring = new BucketRing(windowMs, FIRST_BIN + LATENCY_BIN_COUNT, clock);
  }

  /** Counts a successful call. */
  recordSuccess(ttftMs: number | undefined, stalled: boolean): void {
    this.ring.add(SUCCESSES);
    if (stalled) this.ring.add(STALLS);
    if (ttftMs !== undefined && Number.isFinite(ttftMs)) this.recordTtft(ttftMs);
  }

  /** Counts a failed call. */
  recordFailure(): void {
    this.ring.add(FAILURES);
  }

  /** Finished calls in the window. */
  get calls(): number {
    return this.ring.total(SUCCESSES) + this.ring.total(FAILURES);
  }

  /** Share of failed calls; 0 when there were none. */
  get failureRatio(): number {
    const calls = this.calls;
    return calls === 0 ? 0 : this.ring.total(FAILURES) / calls;
  }

  /** Share of stalled calls; 0 when there were none. */
  get stallRatio(): number {
    const calls = this.calls;
    return calls === 0 ? 0 : this.ring.total(STALLS) / calls;
  }

  /** True when at least `minSamples` TTFTs were seen and their p95 is above the limit. */
  ttftP95Exceeded(minSamples: number): boolean {
    if (this.ttftLimitMs === undefined) return false;
    const samples = this.ring.total(TTFT_SAMPLES);
    if (samples === 0 || samples < minSamples) return false;
    return this.ring.total(TTFT_OVER) > samples - percentileRank(samples, 95);
  }

  /** Approximate p95 time to first token (upper edge of its bin), or null without samples. */
  get ttftP95Ms(): number | null {
    const samples = this.ring.total(TTFT_SAMPLES);
    if (samples === 0) return null;
    const rank = percentileRank(samples, 95);
    let seen = 0;
    for (let bin = 0; bin < LATENCY_BIN_COUNT; bin++) {
      seen += this.ring.total(FIRST_BIN + bin);
      if (seen >= rank) return latencyBinUpperMs(bin);
    }
    return latencyBinUpperMs(LATENCY_BIN_COUNT - 1);
  }

  /** The window's counts. */
  counts(): BreakerWindowCounts {
    const successes = this.ring.total(SUCCESSES);
    const failures = this.ring.total(FAILURES);
    return {
      calls: successes + failures,
      successes,
      failures,
      stalls: this.ring.total(STALLS),
      ttftSamples: this.ring.total(TTFT_SAMPLES),
      ttftOverLimit: this.ring.total(TTFT_OVER),
    };
  }

  /** Forgets everything (a breaker that closes starts afresh). */
  clear(): void {
    this.ring.clear();
  }

  /**
   * Puts restored counts into the current bucket. The samples' latencies are unknown, so they
   * all go into the bin of the restored p95: the p95 reads back the same, finer detail is lost.
   */
  load(counts: BreakerWindowCounts, ttftP95Ms: number | null): void {
    this.ring.clear();
    this.ring.add(SUCCESSES, counts.successes);
    this.ring.add(FAILURES, counts.failures);
    this.ring.add(STALLS, counts.stalls);
    this.ring.add(TTFT_OVER, counts.ttftOverLimit);
    if (ttftP95Ms !== null && counts.ttftSamples > 0) {
      this.ring.add(TTFT_SAMPLES, counts.ttftSamples);
      this.ring.add(FIRST_BIN + latencyBin(ttftP95Ms), counts.ttftSamples);
    }
  }

  private recordTtft(ttftMs: number): void {
    this.ring.add(TTFT_SAMPLES);
    this.ring.add(FIRST_BIN + latencyBin(ttftMs));
    if (this.ttftLimitMs !== undefined && ttftMs > this.ttftLimitMs) this.ring.add(TTFT_OVER);
  }
}
