import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, systemClock } from '../src/core/clock.js';
import { BreakwaterError } from '../src/core/errors.js';
import { clampTimeouts, Deadline } from '../src/resilience/deadline.js';

const TIMEOUTS = { connectMs: 10_000, headersMs: 30_000, firstTokenMs: 30_000, idleMs: 30_000, totalMs: 600_000 };

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

describe('Deadline (UP-4)', () => {
  it('counts down and expires exactly at the deadline', async () => {
    const clock = new ManualClock(5_000);
    const deadline = new Deadline(clock, 1_000);
    assert.equal(deadline.at, 6_000);
    await clock.set(5_999);
    assert.deepEqual([deadline.remainingMs(), deadline.expired], [1, false]);
    await clock.set(6_000);
    assert.deepEqual([deadline.remainingMs(), deadline.expired], [0, true]);
    await clock.set(7_000);
    assert.equal(deadline.remainingMs(), 0);
  });

  it('aborts its signal with upstream_timeout at the deadline, not before', async () => {
    const clock = new ManualClock();
    const deadline = new Deadline(clock, 2_500);
    const signal = deadline.signal;
    assert.equal(deadline.signal, signal, 'one signal per deadline');
    await clock.advance(2_499);
    assert.equal(signal.aborted, false);
    await clock.advance(1);
    assert.equal(signal.aborted, true);
    const reason = signal.reason as BreakwaterError;
    assert.ok(reason instanceof BreakwaterError);
    assert.equal(reason.code, 'upstream_timeout');
    assert.equal(reason.details.reason, 'deadline');
    assert.equal(reason.message, 'the request deadline of 2500 ms passed');
  });

  it('starts no timer until the signal is used, and gives an aborted signal once expired', async () => {
    const clock = new ManualClock();
    const deadline = new Deadline(clock, 100);
    assert.equal(clock.pending, 0);
    await clock.advance(100);
    assert.equal(deadline.signal.aborted, true);
    assert.equal(clock.pending, 0);
  });

  it('dispose() cancels the timer and the signal never aborts', async () => {
    const clock = new ManualClock();
    const deadline = new Deadline(clock, 1_000);
    const signal = deadline.signal;
    assert.equal(clock.pending, 1);
    deadline.dispose();
    await clock.advance(0);
    assert.equal(clock.pending, 0);
    await clock.advance(5_000);
    assert.equal(signal.aborted, false);
    deadline.dispose();
    const late = new Deadline(clock, 1_000);
    late.dispose();
    assert.equal(late.signal.aborted, false);
    assert.equal(clock.pending, 0, 'a disposed deadline never starts a timer');
  });

  it('leaves no real timer behind on the system clock', () => {
    const before = activeTimers();
    const deadline = new Deadline(systemClock, 600_000);
    void deadline.signal;
    assert.equal(activeTimers(), before + 1);
    deadline.dispose();
    assert.equal(activeTimers(), before);
  });
});

describe('clampTimeouts', () => {
  it('leaves timeouts that fit the remaining time alone', () => {
    assert.equal(clampTimeouts(TIMEOUTS, 600_000), TIMEOUTS);
  });

  it('caps every timeout at the remaining time', () => {
    assert.deepEqual(clampTimeouts(TIMEOUTS, 20_000), { connectMs: 10_000, headersMs: 20_000, firstTokenMs: 20_000, idleMs: 20_000, totalMs: 20_000 });
    assert.deepEqual(clampTimeouts({ ...TIMEOUTS, idleMs: 900_000 }, 600_000), { ...TIMEOUTS, idleMs: 600_000 });
  });

  it('never produces 0, which HTTP clients read as "no timeout"', () => {
    assert.deepEqual(clampTimeouts(TIMEOUTS, 0), { connectMs: 1, headersMs: 1, firstTokenMs: 1, idleMs: 1, totalMs: 1 });
    assert.equal(clampTimeouts(TIMEOUTS, -50).totalMs, 1);
  });
});
