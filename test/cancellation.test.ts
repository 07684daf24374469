import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cancellation, cancelReason, isCancelled, listenForCancel, stopListeningForCancel } from '../src/core/cancellation.js';

describe('Cancellation', () => {
  it('tells listeners once, with the first reason, and a signal made later is already aborted with it', () => {
    const cancel = new Cancellation();
    const heard: unknown[] = [];
    cancel.onAbort((reason) => heard.push(reason));
    assert.equal(cancel.aborted, false);
    cancel.abort('client left');
    cancel.abort('second reason');
    assert.deepEqual(heard, ['client left']);
    assert.equal(cancel.signal.aborted, true);
    assert.equal(cancel.signal.reason, 'client left');
    const late: unknown[] = [];
    cancel.onAbort((reason) => late.push(reason));
    assert.deepEqual(late, ['client left'], 'a listener added after the abort hears it at once');
  });

  it('aborts a signal made before the abort, and a removed listener hears nothing', () => {
    const cancel = new Cancellation();
    const signal = cancel.signal;
    let removed = 0;
    const listener = () => removed++;
    cancel.onAbort(listener);
    cancel.offAbort(listener);
    cancel.abort(new Error('gone'));
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as Error).message, 'gone');
    assert.equal(removed, 0);
  });

  it('contexts without a Cancellation fall back to their AbortSignal', () => {
    const controller = new AbortController();
    const ctx = { signal: controller.signal };
    let heard = 0;
    const listener = () => heard++;
    listenForCancel(ctx, listener);
    stopListeningForCancel(ctx, listener);
    listenForCancel(ctx, () => heard++);
    assert.equal(isCancelled(ctx), false);
    controller.abort('stop');
    assert.equal(isCancelled(ctx), true);
    assert.equal(cancelReason(ctx), 'stop');
    assert.equal(heard, 1);
  });

  it('contexts with a Cancellation are judged by it, without making its signal', () => {
    const cancel = new Cancellation();
    let made = false;
    const ctx = {
      cancel,
      get signal(): AbortSignal {
        made = true;
        return cancel.signal;
      },
    };
    let heard = 0;
    listenForCancel(ctx, () => heard++);
    cancel.abort('bye');
    assert.equal(isCancelled(ctx), true);
    assert.equal(cancelReason(ctx), 'bye');
    assert.equal(heard, 1);
    assert.equal(made, false);
  });
});
