/**
 * Time as a parameter: every policy, limiter, breaker, lease and simulated model takes a Clock so
 * tests can drive time by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The real clock. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (ms <= 0 && !signal) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortReason(signal!));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
});

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A clock that moves only when told. `advance(ms)` wakes sleepers in time order, letting the
 * microtasks each one schedules run before the next wakes. `onSleep` fires when something starts
 * waiting, so a test can advance time from the listener.
 */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: Sleeper[] = [];
  private seq = 0;
  /** Called with the wake-up time whenever a sleep starts. */
  onSleep: ((wakeAt: number) => void) | undefined;

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** How many sleeps are pending. */
  get pending(): number {
    return this.sleepers.length;
  }

  /** When the earliest pending sleep wakes, if any. */
  nextWakeAt(): number | undefined {
    let next: number | undefined;
    for (const s of this.sleepers) if (next === undefined || s.at < next) next = s.at;
    return next;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = { at: this.current + Math.max(0, ms), seq: this.seq++, resolve: () => {} };
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(abortReason(signal!));
      };
      sleeper.resolve = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
      this.onSleep?.(sleeper.at);
    });
  }

  /** Moves time forward by `ms`, waking every sleeper due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMicrotasks();
      const next = this.nextDue(target);
      if (!next) break;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      this.current = Math.max(this.current, next.at);
      next.resolve();
    }
    this.current = target;
    await flushMicrotasks();
  }

  /** Sets the time (never backwards) and wakes what is due. */
  async set(time: number): Promise<void> {
    await this.advance(Math.max(0, time - this.current));
  }

  private nextDue(limit: number): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (s.at > limit) continue;
      if (!best || s.at < best.at || (s.at === best.at && s.seq < best.seq)) best = s;
    }
    return best;
  }
}

/** Lets pending promise callbacks run (several turns, since chains of awaits take several). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** Cancels a timer started with {@link startTimer}; harmless after it fired. */
export type CancelTimer = () => void;

/**
 * Runs `fn` after `ms` on `clock` unless cancelled. On the real clock this is a bare
 * setTimeout/clearTimeout pair: per-request timeouts then cost no AbortController, listener or
 * promise (together ~7% of gateway CPU in profiles). Other clocks get the same behaviour through
 * `sleep`.
 */
export function startTimer(clock: Clock, ms: number, fn: () => void): CancelTimer {
  if (clock === systemClock) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  }
  const cancel = new AbortController();
  clock.sleep(ms, cancel.signal).then(fn, () => {});
  return () => cancel.abort(TIMER_CANCELLED);
}

/**
 * The reason to abort a timer's controller with once the timer is no longer wanted. Aborting
 * without a reason builds a DOMException with a stack trace each time, which showed up at ~5% of
 * gateway CPU in profiles; cancelling a timer is routine, not exceptional.
 */
export const TIMER_CANCELLED: Error = Object.freeze(new Error('timer cancelled')) as Error;

/** A source of randomness in [0, 1), injectable for jitter and sampling. */
export type Random = () => number;

/** A small seeded PRNG (mulberry32): deterministic jitter and simulation from a seed. */
export function createSeededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
