import type { Random } from '../core/clock.js';
import type { BreakwaterError } from '../core/errors.js';

/** The two numbers of an exponential backoff (SPEC UP-6; defaults 500 ms and 30 s). */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

/** The largest delay retry number `retryIndex` (0 = first retry) may draw: `min(cap, base·2^n)`. */
export function backoffCeilingMs(retryIndex: number, options: BackoffOptions): number {
  // 2 ** 1100 is Infinity, and min() turns that into the cap, so large indexes need no guard.
  return Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, retryIndex));
}

/**
 * Full-jitter backoff, `random(0, min(cap, base·2^n))` in whole milliseconds: spreading retries
 * over the whole interval is what keeps a burst of failures from coming back as a burst.
 */
export function fullJitterDelay(retryIndex: number, options: BackoffOptions, random: Random): number {
  return Math.floor(random() * backoffCeilingMs(retryIndex, options));
}

/**
 * How long to wait before retry `retryIndex` after `error`. Without `Retry-After` this is the
 * full-jitter delay. With it, the upstream's figure is a floor we never undercut, plus up to one
 * base interval of the same jitter draw, so a hundred clients told "2 s" do not all return in the
 * same millisecond; a longer exponential delay still wins. The result may exceed `capMs` (a
 * Retry-After of a minute means a minute): the caller compares it with `retry.maxWaitMs` and the
 * deadline and moves on instead of waiting when it is too long.
 */
export function retryWaitMs(error: BreakwaterError, retryIndex: number, options: BackoffOptions, random: Random): number {
  const draw = random();
  const jitter = Math.floor(draw * backoffCeilingMs(retryIndex, options));
  const retryAfterMs = error.details.retryAfterMs;
  if (retryAfterMs === undefined || !(retryAfterMs > 0)) return jitter;
  const floor = Math.ceil(retryAfterMs);
  return Math.max(jitter, floor + Math.floor(draw * Math.min(options.baseMs, options.capMs)));
}
