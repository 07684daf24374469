import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';

/**
 * A request deadline (SPEC UP-4). `signal` aborts with an `upstream_timeout` at the deadline; the
 * timer behind it starts on first use of `signal`, so a deadline nobody listens to costs nothing,
 * and `dispose()` cancels it — call it when the request ends or the timer outlives the request.
 */
export class Deadline {
  /** Clock time of the deadline. */
  readonly at: number;
  private controller: AbortController | undefined;
  private readonly timer = new AbortController();

  constructor(
    private readonly clock: Clock,
    /** The deadline's length, from now. */
    readonly ms: number,
  ) {
    this.at = clock.now() + ms;
  }

  /** Milliseconds left, never negative. */
  remainingMs(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  /** True once the deadline has passed. */
  get expired(): boolean {
    return this.clock.now() >= this.at;
  }

  /** Aborted with an `upstream_timeout` (`reason: 'deadline'`) when the deadline passes. */
  get signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    if (this.timer.signal.aborted) return controller.signal;
    if (this.expired) {
      controller.abort(this.error());
      return controller.signal;
    }
    this.clock.sleep(this.remainingMs(), this.timer.signal).then(
      () => controller.abort(this.error()),
      () => {},
    );
    return controller.signal;
  }

  /** Cancels the timer; the signal then never aborts. Safe to call more than once. */
  dispose(): void {
    this.timer.abort();
  }

  private error(): BreakwaterError {
    return new BreakwaterError('upstream_timeout', `the request deadline of ${this.ms} ms passed`, { reason: 'deadline' });
  }
}

/** Re-exported from the core, where the attempt loop uses it. */
export { clampTimeouts } from '../core/attempt-loop.js';
