import { setImmediate as tick } from 'node:timers/promises';
import type { ManualClock } from '../../src/core/clock.js';

/**
 * Drives a manual clock from real I/O for tests of long streams: `start()` moves virtual time
 * 10 ms per turn of the event loop until stopped (tokens then flow at the simulated pace), and
 * `advance(ms)` moves it by a set amount in small steps so producers keep up.
 */
export class VirtualPump {
  private running = false;

  constructor(private readonly clock: ManualClock) {}

  /** Starts moving time; returns the stop function. */
  start(): () => void {
    this.running = true;
    void (async () => {
      while (this.running) {
        await tick();
        await this.clock.advance(10);
      }
    })();
    return () => {
      this.running = false;
    };
  }

  /** Runs `work` with time moving, then stops it. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    const stop = this.start();
    try {
      return await work();
    } finally {
      stop();
    }
  }

  async advance(ms: number): Promise<void> {
    for (let left = ms; left > 0; left -= 50) {
      await tick();
      await this.clock.advance(Math.min(50, left));
    }
    await tick();
  }
}
