import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breakerSchema, type BreakerConfig } from '../src/config/schema.js';
import { ManualClock, type Clock } from '../src/core/clock.js';
import { BreakerRegistry, CircuitBreaker, type BreakerSnapshot, type BreakerState } from '../src/resilience/circuit-breaker.js';

const DEFAULTS = breakerSchema.parse({});

function setup(overrides: Partial<BreakerConfig> = {}, start = 0) {
  const clock = new ManualClock(start);
  const changes: string[] = [];
  const breaker = new CircuitBreaker({ ...DEFAULTS, ...overrides, onChange: (from, to) => changes.push(`${from}>${to}`) }, clock);
  return { clock, breaker, changes };
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) breaker.onFailure('error');
}

function succeed(breaker: CircuitBreaker, times: number, info?: { ttftMs?: number; stalled?: boolean }): void {
  for (let i = 0; i < times; i++) breaker.onSuccess(info);
}

/** Opens a default breaker at t=0 with 20 failures. */
function opened(overrides: Partial<BreakerConfig> = {}) {
  const s = setup(overrides);
  fail(s.breaker, 20);
  assert.equal(s.breaker.state, 'open');
  return s;
}

describe('CircuitBreaker: opening (UP-2, UP-3)', () => {
  it('does not open below minCalls, however bad the ratio', () => {
    const { breaker } = setup();
    fail(breaker, 19);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), 'allowed');
    fail(breaker, 1);
    assert.equal(breaker.state, 'open');
  });

  it('opens at exactly the failure ratio with minCalls, not just below it', () => {
    const below = setup();
    succeed(below.breaker, 11);
    fail(below.breaker, 9);
    assert.equal(below.breaker.state, 'closed');
    const at = setup();
    succeed(at.breaker, 10);
    fail(at.breaker, 9);
    assert.equal(at.breaker.state, 'closed', '19 calls are below minCalls');
    fail(at.breaker, 1);
    assert.equal(at.breaker.state, 'open');
    assert.equal(at.breaker.snapshot().trip, 'failure_ratio');
    assert.deepEqual(at.changes, ['closed>open']);
  });

  it('counts timeouts and semantic failures: 20 schema-invalid 200s open it', () => {
    const { breaker } = setup();
    for (let i = 0; i < 20; i++) breaker.onFailure('semantic');
    assert.equal(breaker.state, 'open');
    const timeouts = setup();
    for (let i = 0; i < 20; i++) timeouts.breaker.onFailure('timeout');
    assert.equal(timeouts.breaker.state, 'open');
  });

  it('judges only the sliding window', async () => {
    const inside = setup();
    fail(inside.breaker, 19);
    await inside.clock.set(59_999);
    fail(inside.breaker, 1);
    assert.equal(inside.breaker.state, 'open');
    const outside = setup();
    fail(outside.breaker, 19);
    await outside.clock.set(60_000);
    fail(outside.breaker, 1);
    assert.equal(outside.breaker.state, 'closed');
    assert.equal(outside.breaker.snapshot().window.calls, 1);
  });

  it('opens on a TTFT p95 over the limit even when every answer is a 200', () => {
    const under = setup({ ttftP95Ms: 2_000 });
    succeed(under.breaker, 18, { ttftMs: 300 });
    succeed(under.breaker, 1, { ttftMs: 2_000 });
    succeed(under.breaker, 1, { ttftMs: 9_000 });
    assert.equal(under.breaker.state, 'closed', 'one sample of 20 above the limit leaves the p95 at 2000');
    const over = setup({ ttftP95Ms: 2_000 });
    succeed(over.breaker, 18, { ttftMs: 300 });
    succeed(over.breaker, 1, { ttftMs: 2_001 });
    assert.equal(over.breaker.state, 'closed', '19 samples are below minCalls');
    succeed(over.breaker, 1, { ttftMs: 2_001 });
    assert.equal(over.breaker.state, 'open');
    assert.equal(over.breaker.snapshot().trip, 'ttft_p95');
  });

  it('reports an approximate TTFT p95 no lower than the true one and at most 9 % above', () => {
    const { breaker } = setup();
    for (let i = 1; i <= 100; i++) breaker.onSuccess({ ttftMs: i * 10 });
    const p95 = breaker.snapshot().ttftP95Ms!;
    assert.ok(p95 >= 950 && p95 <= 950 * 1.091, `p95 ${p95}`);
    assert.equal(setup().breaker.snapshot().ttftP95Ms, null);
  });

  it('does not open on TTFT without a limit configured', () => {
    const { breaker } = setup();
    succeed(breaker, 40, { ttftMs: 60_000 });
    assert.equal(breaker.state, 'closed');
  });

  it('opens when the stall ratio exceeds its limit, not when it equals it', () => {
    const at = setup();
    succeed(at.breaker, 19);
    succeed(at.breaker, 1, { stalled: true });
    assert.equal(at.breaker.state, 'closed', '1 stall in 20 is exactly 5 %');
    const over = setup();
    succeed(over.breaker, 18);
    succeed(over.breaker, 2, { stalled: true });
    assert.equal(over.breaker.state, 'open');
    assert.equal(over.breaker.snapshot().trip, 'stall_ratio');
  });

  it('does nothing when disabled', () => {
    const { breaker } = setup({ enabled: false });
    fail(breaker, 100);
    breaker.onRateLimited(60_000);
    assert.equal(breaker.tryAcquire(), 'allowed');
    assert.equal(breaker.state, 'closed');
  });
});

describe('CircuitBreaker: open and half-open (UP-14)', () => {
  it('rejects while open and turns half-open exactly when the open period ends', async () => {
    const { breaker, clock, changes } = opened();
    assert.equal(breaker.tryAcquire(), 'rejected');
    assert.equal(breaker.retryInMs(), 10_000);
    await clock.set(9_999);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.tryAcquire(), 'rejected');
    await clock.set(10_000);
    assert.equal(breaker.state, 'half_open');
    assert.equal(breaker.retryInMs(), 0);
    assert.equal(breaker.tryAcquire(), 'probe');
    assert.deepEqual(changes, ['closed>open', 'open>half_open']);
  });

  it('lets halfOpenProbes probes through, rejects more, and release() frees a slot', async () => {
    const { breaker, clock } = opened();
    await clock.set(10_000);
    assert.deepEqual([breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()], ['probe', 'probe', 'probe']);
    assert.equal(breaker.tryAcquire(), 'rejected');
    breaker.release();
    assert.equal(breaker.snapshot().probesInFlight, 2);
    assert.equal(breaker.tryAcquire(), 'probe');
    assert.equal(breaker.tryAcquire(), 'rejected');
  });

  it('closes when all probes succeed, with a fresh window', async () => {
    const { breaker, clock, changes } = opened();
    await clock.set(10_000);
    for (let i = 0; i < 3; i++) breaker.tryAcquire();
    succeed(breaker, 2);
    assert.equal(breaker.state, 'half_open');
    assert.equal(breaker.tryAcquire(), 'rejected', 'two succeeded, one still in flight');
    succeed(breaker, 1);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.tryAcquire(), 'allowed');
    assert.equal(breaker.snapshot().window.calls, 0);
    assert.deepEqual(changes, ['closed>open', 'open>half_open', 'half_open>closed']);
  });

  it('reopens on a failed probe with the period doubled, capped at maxOpenMs, and resets it after a success once closed', async () => {
    const { breaker, clock, changes } = opened();
    await clock.set(10_000);
    assert.equal(breaker.tryAcquire(), 'probe');
    breaker.onFailure('timeout');
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.snapshot().openMs, 20_000);
    await clock.set(29_999);
    assert.equal(breaker.tryAcquire(), 'rejected');
    await clock.set(30_000);
    assert.equal(breaker.tryAcquire(), 'probe');
    breaker.onFailure('error');
    assert.equal(breaker.snapshot().openMs, 30_000, '40 s capped at maxOpenMs');
    await clock.set(59_999);
    assert.equal(breaker.tryAcquire(), 'rejected');
    await clock.set(60_000);
    for (let i = 0; i < 3; i++) assert.equal(breaker.tryAcquire(), 'probe');
    succeed(breaker, 3);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().openMs, 30_000, 'a flapping deployment keeps its long period until it serves');
    succeed(breaker, 1);
    assert.equal(breaker.snapshot().openMs, 10_000);
    assert.deepEqual(changes, ['closed>open', 'open>half_open', 'half_open>open', 'open>half_open', 'half_open>open', 'open>half_open', 'half_open>closed']);
  });

  it('treats a slow or stalled probe as a failed one', async () => {
    const slow = opened({ ttftP95Ms: 2_000 });
    await slow.clock.set(10_000);
    slow.breaker.tryAcquire();
    slow.breaker.onSuccess({ ttftMs: 2_001 });
    assert.equal(slow.breaker.state, 'open');
    const stalled = opened();
    await stalled.clock.set(10_000);
    stalled.breaker.tryAcquire();
    stalled.breaker.onSuccess({ stalled: true });
    assert.equal(stalled.breaker.state, 'open');
  });
});

describe('CircuitBreaker: 429 cooldown (UP-14)', () => {
  it('rejects until Retry-After ends instead of counting a failure', async () => {
    const { breaker, clock } = setup({}, 1_000);
    for (let i = 0; i < 30; i++) breaker.onRateLimited(5_000);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().window.failures, 0);
    assert.equal(breaker.snapshot().cooldownUntil, 6_000);
    assert.equal(breaker.retryInMs(), 5_000);
    await clock.set(5_999);
    assert.equal(breaker.tryAcquire(), 'rejected');
    await clock.set(6_000);
    assert.equal(breaker.tryAcquire(), 'allowed');
    assert.equal(breaker.snapshot().cooldownUntil, null);
  });

  it('cools down for 1 s when the 429 gave no Retry-After, and never shortens a longer cooldown', async () => {
    const { breaker, clock } = setup();
    breaker.onRateLimited();
    await clock.set(999);
    assert.equal(breaker.tryAcquire(), 'rejected');
    await clock.set(1_000);
    assert.equal(breaker.tryAcquire(), 'allowed');
    breaker.onRateLimited(10_000);
    breaker.onRateLimited(2_000);
    assert.equal(breaker.snapshot().cooldownUntil, 11_000);
  });

  it('frees the slot of a probe answered with 429 without a verdict', async () => {
    const { breaker, clock } = opened({ halfOpenProbes: 1 });
    await clock.set(10_000);
    assert.equal(breaker.tryAcquire(), 'probe');
    breaker.onRateLimited(500);
    assert.equal(breaker.state, 'half_open');
    await clock.set(10_500);
    assert.equal(breaker.tryAcquire(), 'probe');
  });
});

describe('CircuitBreaker: snapshots', () => {
  it('round-trips through JSON and keeps behaving the same', async () => {
    const { breaker, clock } = setup({ ttftP95Ms: 2_000 });
    succeed(breaker, 5, { ttftMs: 400 });
    succeed(breaker, 1, { ttftMs: 3_000, stalled: true });
    fail(breaker, 3);
    breaker.onRateLimited(1_500);
    const closed = JSON.parse(JSON.stringify(breaker.snapshot())) as BreakerSnapshot;
    assert.deepEqual(CircuitBreaker.fromSnapshot(closed, { ...DEFAULTS, ttftP95Ms: 2_000 }, clock).snapshot(), closed);

    fail(breaker, 20);
    await clock.set(10_000);
    breaker.tryAcquire();
    breaker.onFailure('error');
    const open = JSON.parse(JSON.stringify(breaker.snapshot())) as BreakerSnapshot;
    assert.equal(open.state, 'open');
    const copy = CircuitBreaker.fromSnapshot(open, DEFAULTS, clock);
    assert.deepEqual(copy.snapshot(), open);
    await clock.set(29_999);
    assert.equal(copy.tryAcquire(), 'rejected');
    await clock.set(30_000);
    assert.equal(copy.tryAcquire(), 'probe');
  });

  it('restores a half-open round without the other process’s probes in flight', async () => {
    const { breaker, clock } = opened();
    await clock.set(10_000);
    breaker.tryAcquire();
    breaker.tryAcquire();
    breaker.onSuccess();
    const snapshot = breaker.snapshot();
    assert.equal(snapshot.probesInFlight, 1);
    const changes: string[] = [];
    const copy = new CircuitBreaker({ ...DEFAULTS, onChange: (from, to) => changes.push(`${from}>${to}`) }, clock);
    copy.restore(snapshot);
    assert.deepEqual(changes, ['closed>half_open']);
    assert.deepEqual({ ...copy.snapshot(), probesInFlight: 1 }, snapshot);
    assert.deepEqual([copy.tryAcquire(), copy.tryAcquire(), copy.tryAcquire()], ['probe', 'probe', 'rejected']);
  });
});

describe('UP-14: a primary down 60 s serves again within 30 s of recovering', () => {
  /** One request a second; fails while down. Returns ms from recovery to the first served request. */
  function outage(downMs: number): { recoveryMs: number; rejected: number; longestOpenMs: number } {
    // The breaker only reads the time, so a synchronous clock keeps a 120-run sweep fast.
    let time = 0;
    const clock: Clock = { now: () => time, sleep: () => Promise.reject(new Error('nothing sleeps here')) };
    const breaker = new CircuitBreaker(DEFAULTS, clock);
    let rejected = 0;
    let longestOpenMs = 0;
    for (let t = 0; ; t += 1_000) {
      time = t;
      const decision = breaker.tryAcquire();
      if (decision === 'rejected') {
        rejected++;
        continue;
      }
      if (t >= downMs) {
        breaker.onSuccess();
        return { recoveryMs: t - downMs, rejected, longestOpenMs };
      }
      breaker.onFailure('error');
      longestOpenMs = Math.max(longestOpenMs, breaker.snapshot().openMs);
    }
  }

  it('with the default breaker settings', () => {
    const { recoveryMs, rejected, longestOpenMs } = outage(60_000);
    assert.ok(rejected > 20, 'the open breaker kept most of the outage off the primary');
    assert.equal(longestOpenMs, DEFAULTS.maxOpenMs, 'failed probes doubled the period up to the cap');
    assert.ok(recoveryMs <= 30_000, `served ${recoveryMs} ms after recovery`);
  });

  it('whenever in the probe cycle the recovery falls', () => {
    for (let downMs = 30_000; downMs <= 150_000; downMs += 1_000) {
      const { recoveryMs } = outage(downMs);
      assert.ok(recoveryMs <= 30_000, `down ${downMs} ms: served ${recoveryMs} ms after recovery`);
    }
  });
});

describe('BreakerRegistry', () => {
  it('creates one breaker per deployment on first use, with overrides, and snapshots them all', () => {
    const clock = new ManualClock();
    const seen: Array<[string, BreakerState, BreakerState]> = [];
    const registry = new BreakerRegistry(DEFAULTS, clock, { onChange: (deployment, from, to) => seen.push([deployment, from, to]) });
    const a = registry.get('openai/gpt-4o', { minCalls: 2 });
    assert.equal(registry.get('openai/gpt-4o'), a);
    fail(a, 2);
    registry.get('sim/sim-fast', { minCalls: undefined });
    fail(registry.get('sim/sim-fast'), 2);
    const snapshot = registry.snapshot();
    assert.deepEqual(Object.keys(snapshot), ['openai/gpt-4o', 'sim/sim-fast']);
    assert.equal(snapshot['openai/gpt-4o']!.state, 'open');
    assert.equal(snapshot['sim/sim-fast']!.state, 'closed', 'an undefined override keeps the default minCalls');
    assert.deepEqual(seen, [['openai/gpt-4o', 'closed', 'open']]);
  });

  it('resets a deployment’s breaker (admin)', () => {
    const registry = new BreakerRegistry(DEFAULTS, new ManualClock());
    fail(registry.get('a'), 20);
    assert.equal(registry.reset('a'), true);
    assert.equal(registry.get('a').tryAcquire(), 'allowed');
    assert.equal(registry.get('a').snapshot().window.calls, 0);
    assert.equal(registry.reset('unknown'), false);
  });
});
