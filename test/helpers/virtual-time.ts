import { setImmediate as tick } from 'node:timers/promises';
import type { ManualClock } from '../../src/core/clock.js';

/**
 * Runs `work` under virtual time: whenever real I/O has had a moment and something sleeps on the
 * manual clock, time jumps to the earliest wake-up. Timeouts, backoffs and simulated latency then
 * cost no real time, and the clock reads exactly when each thing happened.
 */
export async function withVirtualTime<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  settled.catch(() => {});
  let idleTurns = 0;
  while (!done) {
    await tick();
    const next = clock.nextWakeAt();
    // Wait a few turns of real I/O before jumping, so a response already on its way arrives
    // before a timeout that would only fire in virtual time.
    if (next === undefined || ++idleTurns < 20) continue;
    idleTurns = 0;
    await clock.set(next);
  }
  return settled;
}
