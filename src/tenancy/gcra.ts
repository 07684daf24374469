/**
 * GCRA (the generic cell rate algorithm) over a one-minute window: a token bucket holding at most
 * one minute's limit, stored as one number, the theoretical arrival time (`tat`) at which the
 * bucket is empty again. A cost of n moves it n emission intervals (60 000 ms ÷ limit) ahead.
 * The same arithmetic runs in the Redis script of the scale-out store.
 */

const WINDOW_MS = 60_000;
// Emission intervals are fractional (60 000 / 7); a nanosecond of slack keeps exact boundaries exact.
const EPSILON = 1e-6;

/** The outcome of asking a bucket for `cost`. */
export type GcraResult =
  | { ok: true; tat: number; remaining: number; resetMs: number }
  | { ok: false; retryAfterMs: number | undefined; remaining: number; resetMs: number };

/**
 * Asks a bucket with `limit` per minute for `cost` units at `now`, using at most `share` of its
 * depth. A cost larger than the bucket passes when the bucket is empty and leaves it in debt
 * (SPEC MT-5), so a big request is slowed, never refused forever.
 */
export function gcraTake(tat: number, now: number, cost: number, limit: number, share = 1): GcraResult {
  const interval = WINDOW_MS / limit;
  const depth = WINDOW_MS * share;
  const base = Math.max(tat, now);
  const next = base + cost * interval;
  const used = base - now;
  if (next - now <= depth + EPSILON || used <= EPSILON) {
    return { ok: true, tat: next, remaining: Math.max(0, Math.floor((depth - (next - now)) / interval + EPSILON)), resetMs: Math.ceil(next - now - EPSILON) };
  }
  // Too big to fit even in an empty bucket: it fits once the bucket drains completely.
  const wait = cost * interval > depth ? used : next - now - depth;
  return { ok: false, retryAfterMs: Math.ceil(wait - EPSILON), remaining: Math.max(0, Math.floor((depth - used) / interval + EPSILON)), resetMs: Math.ceil(used - EPSILON) };
}

/** Moves a bucket by `delta` units after the fact: positive is debt, negative a refund. */
export function gcraAdjust(tat: number, delta: number, limit: number): number {
  return tat + delta * (WINDOW_MS / limit);
}
