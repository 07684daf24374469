import type { Clock } from '../core/clock.js';
import { BucketRing } from './bucket-ring.js';

/** Settings of a {@link RetryBudget} (SPEC UP-7; defaults 10 %, 60 s, 10). */
export interface RetryBudgetOptions {
  /** Retries may be at most this share of first attempts over the window… */
  ratio: number;
  windowMs: number;
  /** …but at least this many per window, so a quiet deployment can still retry. */
  floor: number;
}

/** What a {@link RetryBudget} has counted, for metrics and the admin API. */
export interface RetryBudgetSnapshot {
  firstAttempts: number;
  retries: number;
  /** Retries the window allows at its current number of first attempts. */
  limit: number;
}

const FIRST_ATTEMPTS = 0;
const RETRIES = 1;

/**
 * Caps retries per deployment at `max(floor, ratio × first attempts)` over a sliding window, so
 * an outage cannot multiply its own load by the retry count. One instance per deployment.
 */
export class RetryBudget {
  private readonly ring: BucketRing;

  constructor(
    private readonly options: RetryBudgetOptions,
    clock: Clock,
  ) {
    this.ring = new BucketRing(options.windowMs, 2, clock);
  }

  /** Counts a first attempt (never a retry), which grows the allowance. */
  recordAttempt(): void {
    this.ring.add(FIRST_ATTEMPTS);
  }

  /** Takes one retry from the budget; false, and nothing taken, when the window's allowance is spent. */
  tryAcquireRetry(): boolean {
    if (this.ring.total(RETRIES) >= this.limit()) return false;
    this.ring.add(RETRIES);
    return true;
  }

  /** The window's counts, as plain data. */
  snapshot(): RetryBudgetSnapshot {
    return { firstAttempts: this.ring.total(FIRST_ATTEMPTS), retries: this.ring.total(RETRIES), limit: this.limit() };
  }

  private limit(): number {
    // The epsilon keeps 0.29 × 100 = 28.999… from losing a retry to floating point.
    const share = Math.floor(this.options.ratio * this.ring.total(FIRST_ATTEMPTS) + 1e-9);
    return Math.max(this.options.floor, share);
  }
}
