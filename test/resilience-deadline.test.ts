import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampTimeouts } from '../src/core/attempt-loop.js';

const TIMEOUTS = { connectMs: 10_000, headersMs: 30_000, firstTokenMs: 30_000, idleMs: 30_000, totalMs: 600_000 };

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
