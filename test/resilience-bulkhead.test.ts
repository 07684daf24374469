import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { flushMicrotasks, ManualClock } from '../src/core/clock.js';
import { Bulkhead } from '../src/resilience/bulkhead.js';

/** Tracks a promise so a test can see whether it settled yet. */
function track<T>(promise: Promise<T>): { settled: () => boolean; value: () => T | undefined } {
  let done = false;
  let value: T | undefined;
  void promise.then((v) => {
    done = true;
    value = v;
  });
  return { settled: () => done, value: () => value };
}

const flush = () => flushMicrotasks();

describe('Bulkhead (UP-15)', () => {
  it('admits up to maxConcurrent without waiting, then refuses until a slot is left', () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 2, maxQueue: 0 }, new ManualClock());
    assert.equal(bulkhead.tryEnter(), true);
    assert.equal(bulkhead.tryEnter(), true);
    assert.equal(bulkhead.tryEnter(), false);
    assert.equal(bulkhead.inFlight, 2);
    bulkhead.leave();
    assert.equal(bulkhead.tryEnter(), true);
    bulkhead.leave();
    bulkhead.leave();
    bulkhead.leave();
    assert.equal(bulkhead.inFlight, 0, 'an extra leave() never goes negative');
  });

  it('queues up to maxQueue in FIFO order and refuses beyond it at once', async () => {
    const clock = new ManualClock();
    const signal = new AbortController().signal;
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 }, clock);
    assert.equal(await bulkhead.enter(signal, 1_000), true);
    const second = track(bulkhead.enter(signal, 1_000));
    const third = track(bulkhead.enter(signal, 1_000));
    assert.equal(await bulkhead.enter(signal, 1_000), false, 'the queue is full');
    assert.equal(bulkhead.queued, 2);
    assert.equal(bulkhead.tryEnter(), false, 'nobody overtakes the queue');
    bulkhead.leave();
    await flush();
    assert.deepEqual([second.value(), third.settled()], [true, false]);
    assert.equal(bulkhead.inFlight, 1);
    bulkhead.leave();
    await flush();
    assert.equal(third.value(), true);
    assert.equal(bulkhead.queued, 0);
    assert.equal(clock.pending, 0, 'granted waiters cancel their timers');
  });

  it('gives up on a waiter exactly at its timeout and leaves nothing behind', async () => {
    const clock = new ManualClock();
    const signal = new AbortController().signal;
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 1 }, clock);
    bulkhead.tryEnter();
    const waiter = track(bulkhead.enter(signal, 100));
    await clock.advance(99);
    assert.equal(waiter.settled(), false);
    await clock.advance(1);
    assert.equal(waiter.value(), false);
    assert.equal(bulkhead.queued, 0);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    bulkhead.leave();
    assert.equal(bulkhead.inFlight, 0, 'the slot went back to the pool, not to the departed waiter');
  });

  it('drops an aborted waiter, its timer and its listener, and serves the next one', async () => {
    const clock = new ManualClock();
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueue: 2 }, clock);
    bulkhead.tryEnter();
    const client = new AbortController();
    const other = new AbortController().signal;
    const leaving = track(bulkhead.enter(client.signal, 5_000));
    const staying = track(bulkhead.enter(other, 5_000));
    client.abort();
    await flush();
    assert.equal(leaving.value(), false);
    assert.equal(bulkhead.queued, 1);
    assert.equal(clock.pending, 1, 'only the remaining waiter has a timer');
    assert.equal(getEventListeners(client.signal, 'abort').length, 0);
    bulkhead.leave();
    await flush();
    assert.equal(staying.value(), true);
    assert.equal(getEventListeners(other, 'abort').length, 0);
    assert.equal(clock.pending, 0);
  });

  it('refuses at once when already aborted or when there is no queue', async () => {
    const clock = new ManualClock();
    const aborted = AbortSignal.abort();
    assert.equal(await new Bulkhead({ maxConcurrent: 1, maxQueue: 1 }, clock).enter(aborted, 100), false);
    const noQueue = new Bulkhead({ maxConcurrent: 1, maxQueue: 0 }, clock);
    noQueue.tryEnter();
    assert.equal(await noQueue.enter(new AbortController().signal, 100), false);
    assert.equal(clock.pending, 0);
  });
});
