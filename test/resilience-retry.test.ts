import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retrySchema } from '../src/config/schema.js';
import { createSeededRandom, ManualClock } from '../src/core/clock.js';
import { BreakwaterError, upstreamHttpError } from '../src/core/errors.js';
import { backoffCeilingMs, fullJitterDelay, retryWaitMs } from '../src/resilience/backoff.js';
import { RetryBudget } from '../src/resilience/retry-budget.js';

const DEFAULTS = retrySchema.parse({});
const BACKOFF = { baseMs: DEFAULTS.baseMs, capMs: DEFAULTS.capMs };
const ALMOST_ONE = 1 - 2 ** -40;

/** Most events in any half-open window [t, t + widthMs). */
function peakInWindow(times: number[], widthMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= widthMs) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('full-jitter backoff', () => {
  it('draws from [0, base·2^n) and doubles the ceiling per retry until the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 60, 2000].map((n) => backoffCeilingMs(n, BACKOFF)),
      [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000],
    );
    assert.equal(fullJitterDelay(0, BACKOFF, () => 0), 0);
    assert.equal(fullJitterDelay(0, BACKOFF, () => ALMOST_ONE), 499);
    assert.equal(fullJitterDelay(5, BACKOFF, () => ALMOST_ONE), 15_999);
    assert.equal(fullJitterDelay(6, BACKOFF, () => ALMOST_ONE), 29_999);
    assert.equal(fullJitterDelay(3, BACKOFF, () => 0.5), 2_000);
  });

  it('spreads draws over the whole interval, not near its ends', () => {
    const random = createSeededRandom(11);
    const draws = Array.from({ length: 2_000 }, () => fullJitterDelay(2, BACKOFF, random));
    assert.ok(draws.every((d) => Number.isInteger(d) && d >= 0 && d < 2_000));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    assert.ok(mean > 900 && mean < 1_100, `mean ${mean}`);
    assert.ok(draws.filter((d) => d < 500).length > 400 && draws.filter((d) => d >= 1_500).length > 400);
  });

  it('spreads a burst of 100 first retries across the first 500 ms', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = createSeededRandom(seed);
      const times = Array.from({ length: 100 }, () => fullJitterDelay(0, BACKOFF, random));
      // The mean is 20 per 100 ms; peaks run to the mid-30s, which is why UP-6 also needs the budget.
      assert.ok(peakInWindow(times, 100) <= 40, `seed ${seed}: ${peakInWindow(times, 100)}`);
      assert.ok(Math.max(...times) >= 400, `seed ${seed}: nothing in the last 100 ms`);
    }
  });
});

describe('retryWaitMs', () => {
  const rateLimited = (retryAfterMs?: number) => upstreamHttpError(429, 'slow down', retryAfterMs === undefined ? {} : { retryAfterMs });

  it('is the jitter delay when the upstream gave no Retry-After', () => {
    assert.equal(retryWaitMs(rateLimited(), 1, BACKOFF, () => 0.25), 250);
    assert.equal(retryWaitMs(new BreakwaterError('upstream_error', 'boom'), 0, BACKOFF, () => 0.5), 250);
  });

  it('never comes back before Retry-After, and spreads those told the same by up to one base interval', () => {
    assert.equal(retryWaitMs(rateLimited(2_000), 0, BACKOFF, () => 0), 2_000);
    assert.equal(retryWaitMs(rateLimited(2_000), 0, BACKOFF, () => ALMOST_ONE), 2_499);
    assert.equal(retryWaitMs(rateLimited(1_500.2), 0, BACKOFF, () => 0), 1_501);
    const random = createSeededRandom(3);
    const waits = Array.from({ length: 100 }, () => retryWaitMs(rateLimited(2_000), 0, BACKOFF, random));
    assert.ok(waits.every((w) => w >= 2_000 && w < 2_500));
    assert.ok(peakInWindow(waits, 1) < 5, 'the herd is spread, not synchronised');
  });

  it('keeps a longer exponential delay, and passes a Retry-After beyond the cap through for the caller to judge', () => {
    assert.equal(retryWaitMs(rateLimited(1_000), 5, BACKOFF, () => 0.5), 8_000);
    assert.equal(retryWaitMs(rateLimited(120_000), 0, BACKOFF, () => 0), 120_000);
  });
});

describe('RetryBudget', () => {
  const options = { ratio: DEFAULTS.ratio, windowMs: DEFAULTS.ratioWindowMs, floor: DEFAULTS.ratioFloor };

  function budgetWith(firstAttempts: number, clock = new ManualClock()): RetryBudget {
    const budget = new RetryBudget(options, clock);
    for (let i = 0; i < firstAttempts; i++) budget.recordAttempt();
    return budget;
  }

  function drain(budget: RetryBudget): number {
    let granted = 0;
    while (budget.tryAcquireRetry()) granted++;
    return granted;
  }

  it('allows the floor of retries on a quiet deployment, then refuses', () => {
    const budget = budgetWith(0);
    assert.equal(drain(budget), 10);
    assert.equal(budget.tryAcquireRetry(), false);
    assert.deepEqual(budget.snapshot(), { firstAttempts: 0, retries: 10, limit: 10 });
  });

  it('allows ratio × first attempts once that exceeds the floor (both sides of each step)', () => {
    assert.equal(drain(budgetWith(109)), 10);
    assert.equal(drain(budgetWith(110)), 11);
    assert.equal(drain(budgetWith(119)), 11);
    assert.equal(drain(budgetWith(120)), 12);
    assert.equal(drain(budgetWith(1_000)), 100);
  });

  it('grows the allowance as first attempts arrive after it was spent', () => {
    const budget = budgetWith(100);
    assert.equal(drain(budget), 10);
    for (let i = 0; i < 9; i++) budget.recordAttempt();
    assert.equal(budget.tryAcquireRetry(), false, '109 first attempts still allow 10');
    budget.recordAttempt();
    assert.equal(budget.tryAcquireRetry(), true, '110 allow an 11th');
  });

  it('forgets retries and first attempts that slide out of the window', async () => {
    const clock = new ManualClock(0);
    const budget = budgetWith(200, clock);
    assert.equal(drain(budget), 20);
    await clock.set(59_999);
    assert.equal(budget.tryAcquireRetry(), false, 'still inside the window');
    assert.deepEqual(budget.snapshot(), { firstAttempts: 200, retries: 20, limit: 20 });
    await clock.set(60_000);
    assert.deepEqual(budget.snapshot(), { firstAttempts: 0, retries: 0, limit: 10 });
    assert.equal(drain(budget), 10);
  });

  it('slides bucket by bucket rather than all at once', async () => {
    const clock = new ManualClock(0);
    const budget = new RetryBudget({ ratio: 0, windowMs: 60_000, floor: 2 }, clock);
    assert.equal(budget.tryAcquireRetry(), true);
    await clock.set(30_000);
    assert.equal(budget.tryAcquireRetry(), true);
    assert.equal(budget.tryAcquireRetry(), false);
    await clock.set(60_000);
    assert.equal(budget.tryAcquireRetry(), true, 'the t=0 retry left the window');
    assert.equal(budget.tryAcquireRetry(), false, 'the t=30 s retry has not');
  });
});

describe('UP-6: a burst of 429s', () => {
  interface Pending {
    at: number;
    retryIndex: number;
  }

  /** 100 requests, all 429'd at t=0 and on every retry, scheduled with the default retry settings. */
  function simulateBurst(seed: number): number[] {
    let time = 0;
    const clock = { now: () => time, sleep: () => Promise.resolve() };
    const random = createSeededRandom(seed);
    const budget = new RetryBudget({ ratio: DEFAULTS.ratio, windowMs: DEFAULTS.ratioWindowMs, floor: DEFAULTS.ratioFloor }, clock);
    const error = upstreamHttpError(429, 'rate limited');
    const queue: Pending[] = [];
    for (let i = 0; i < 100; i++) {
      budget.recordAttempt();
      queue.push({ at: 0, retryIndex: 0 });
    }
    const retries: number[] = [];
    while (queue.length > 0) {
      queue.sort((a, b) => a.at - b.at);
      const failed = queue.shift()!;
      time = failed.at;
      if (failed.retryIndex + 1 >= DEFAULTS.maxAttempts || !budget.tryAcquireRetry()) continue;
      const at = failed.at + retryWaitMs(error, failed.retryIndex, BACKOFF, random);
      retries.push(at);
      queue.push({ at, retryIndex: failed.retryIndex + 1 });
    }
    return retries;
  }

  it('puts at most 20 retries in any 100 ms window', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const retries = simulateBurst(seed);
      assert.equal(retries.length, 10, 'the budget allows max(floor 10, 10 % of 100)');
      assert.ok(peakInWindow(retries, 100) <= 20, `seed ${seed}: ${peakInWindow(retries, 100)} retries in 100 ms`);
    }
  });
});
