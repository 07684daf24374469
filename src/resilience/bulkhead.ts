import { TIMER_CANCELLED, type Clock } from '../core/clock.js';

/** Settings of a {@link Bulkhead} (SPEC UP-15). */
export interface BulkheadOptions {
  maxConcurrent: number;
  /** Callers that may wait for a slot; 0 means full is full. */
  maxQueue: number;
}

interface Waiter {
  settle(entered: boolean): void;
}

/**
 * A concurrency cap for one deployment with a bounded FIFO queue. A slot freed by `leave()` goes
 * straight to the oldest waiter, so nobody can overtake the queue; a waiter that times out or
 * aborts leaves it without a trace (its timer cancelled, its abort listener removed).
 */
export class Bulkhead {
  private active = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(
    private readonly options: BulkheadOptions,
    private readonly clock: Clock,
  ) {}

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get queued(): number {
    return this.waiters.size;
  }

  /** Takes a slot if one is free right now; never waits. */
  tryEnter(): boolean {
    if (this.active >= this.options.maxConcurrent || this.waiters.size > 0) return false;
    this.active++;
    return true;
  }

  /**
   * Takes a slot, waiting up to `timeoutMs` in the queue; false when the queue is full, the wait
   * times out or `signal` aborts. True obliges the caller to `leave()`.
   */
  enter(signal: AbortSignal, timeoutMs: number): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.tryEnter()) return Promise.resolve(true);
    if (this.waiters.size >= this.options.maxQueue || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = new AbortController();
      const waiter: Waiter = {
        settle: (entered) => {
          this.waiters.delete(waiter);
          signal.removeEventListener('abort', onAbort);
          timer.abort(TIMER_CANCELLED);
          resolve(entered);
        },
      };
      const onAbort = () => waiter.settle(false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      // The sleep rejects when `timer` aborts it after the waiter got its slot; that is expected.
      this.clock.sleep(timeoutMs, timer.signal).then(
        () => {
          if (this.waiters.has(waiter)) waiter.settle(false);
        },
        () => {},
      );
    });
  }

  /** Gives a slot back: to the oldest waiter if there is one, else to the pool. */
  leave(): void {
    const next = this.waiters.values().next();
    if (!next.done) {
      next.value.settle(true);
      return;
    }
    if (this.active > 0) this.active--;
  }
}
