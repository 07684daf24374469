import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BudgetCalendar } from '../src/tenancy/budget-periods.js';
import type { LevelKind, LimitLevel, ReserveInput, ReserveResult } from '../src/tenancy/limit-store.js';
import { MemoryLimitStore } from '../src/tenancy/memory-limit-store.js';

const calendar = new BudgetCalendar('UTC');
const DAY = 86_400_000;
let seq = 0;

function level(kind: LevelKind, limits: LimitLevel['limits'], budgets: { dailyMicros?: number; monthlyMicros?: number } = {}, share?: number): LimitLevel {
  return { id: `${kind}:${kind}_1`, kind, name: `${kind} one`, limits, softThreshold: 0.8, share, ...budgets };
}

function ask(levels: LimitLevel[], now: number, amounts: { input?: number; output?: number; cost?: number } = {}): ReserveInput {
  return { id: `r${++seq}`, now, levels, inputTokens: amounts.input ?? 0, outputTokens: amounts.output ?? 0, costMicros: amounts.cost ?? 0, periods: calendar.at(now), leaseUntil: now + 600_000 };
}

function granted(result: ReserveResult) {
  assert.ok(result.ok, result.ok ? '' : `denied: ${result.denial.level.kind} ${result.denial.dimension}`);
  return result.reservation;
}

function denied(result: ReserveResult) {
  assert.ok(!result.ok, 'expected a denial');
  return result.denial;
}

describe('memory LimitStore', () => {
  for (const kind of ['org', 'team', 'user', 'key', 'deployment'] as const) {
    it(`a ${kind} limit of 60 requests per minute admits 60 at once, the 61st exactly 1 s later`, () => {
      const store = new MemoryLimitStore();
      const others = (['org', 'team', 'user', 'key'] as const).filter((k) => k !== kind).map((k) => level(k, { rpm: 10_000 }));
      const levels = [...others, level(kind, { rpm: 60 })];
      for (let i = 0; i < 60; i++) granted(store.reserveNow(ask(levels, 0)));
      const denial = denied(store.reserveNow(ask(levels, 0)));
      assert.equal(denial.level.kind, kind);
      assert.equal(denial.dimension, 'requests');
      assert.equal(denial.retryAfterMs, 1_000);
      denied(store.reserveNow(ask(levels, 999)));
      granted(store.reserveNow(ask(levels, 1_000)));
      denied(store.reserveNow(ask(levels, 1_000)));
    });
  }

  it('input tokens per minute: a request that does not fit waits exactly until enough drained', () => {
    const store = new MemoryLimitStore();
    const levels = [level('team', { inputTpm: 1_000 })];
    granted(store.reserveNow(ask(levels, 0, { input: 600 })));
    const denial = denied(store.reserveNow(ask(levels, 0, { input: 500 })));
    assert.equal(denial.dimension, 'input_tokens');
    // 100 tokens must drain at 60 ms each.
    assert.equal(denial.retryAfterMs, 6_000);
    denied(store.reserveNow(ask(levels, 5_999, { input: 500 })));
    granted(store.reserveNow(ask(levels, 6_000, { input: 500 })));
  });

  it('a request larger than the whole bucket passes only when it is empty and leaves debt', () => {
    const store = new MemoryLimitStore();
    const levels = [level('key', { outputTpm: 1_000 })];
    granted(store.reserveNow(ask(levels, 0, { output: 10 })));
    assert.equal(denied(store.reserveNow(ask(levels, 0, { output: 1_500 }))).retryAfterMs, 600);
    granted(store.reserveNow(ask(levels, 600, { output: 1_500 })));
    // 1 500 tokens of debt on a 1 000-per-minute bucket: the next token fits after 30 s.
    denied(store.reserveNow(ask(levels, 30_599, { output: 1 })));
    granted(store.reserveNow(ask(levels, 30_600 + 60, { output: 1 })));
  });

  it('settle refunds unused output tokens and charges excess as debt', () => {
    const store = new MemoryLimitStore();
    const levels = [level('key', { outputTpm: 1_000 })];
    const first = granted(store.reserveNow(ask(levels, 0, { output: 1_000 })));
    denied(store.reserveNow(ask(levels, 0, { output: 1 })));
    store.settleNow(first, { now: 0, inputTokens: 0, outputTokens: 100, costMicros: 0 });
    granted(store.reserveNow(ask(levels, 0, { output: 900 })));
    denied(store.reserveNow(ask(levels, 0, { output: 1 })));

    const debt = new MemoryLimitStore();
    const small = granted(debt.reserveNow(ask(levels, 0, { output: 100 })));
    debt.settleNow(small, { now: 0, inputTokens: 0, outputTokens: 1_000, costMicros: 0 });
    denied(debt.reserveNow(ask(levels, 0, { output: 1 })));
    denied(debt.reserveNow(ask(levels, 59, { output: 1 })));
    granted(debt.reserveNow(ask(levels, 60, { output: 1 })));
  });

  it('concurrency: a slot frees on settle, or when an unsettled lease runs out', () => {
    const store = new MemoryLimitStore();
    const levels = [level('user', { concurrency: 2 })];
    const a = granted(store.reserveNow(ask(levels, 0)));
    granted(store.reserveNow(ask(levels, 0)));
    assert.equal(denied(store.reserveNow(ask(levels, 0))).dimension, 'concurrency');
    store.settleNow(a, { now: 1, inputTokens: 0, outputTokens: 0, costMicros: 0 });
    granted(store.reserveNow({ ...ask(levels, 1), leaseUntil: 100 }));
    denied(store.reserveNow(ask(levels, 99)));
    // The second and third never settle; the third's lease ends at 100.
    granted(store.reserveNow(ask(levels, 100)));
  });

  it('a batch share of 0.5 on a deployment fills half its capacity and leaves the rest to interactive', () => {
    const store = new MemoryLimitStore();
    const batch = level('deployment', { concurrency: 4, rpm: 60 }, {}, 0.5);
    const interactive = level('deployment', { concurrency: 4, rpm: 60 });
    granted(store.reserveNow(ask([batch], 0)));
    granted(store.reserveNow(ask([batch], 0)));
    assert.equal(denied(store.reserveNow(ask([batch], 0))).dimension, 'concurrency');
    granted(store.reserveNow(ask([interactive], 0)));
    granted(store.reserveNow(ask([interactive], 0)));
    denied(store.reserveNow(ask([interactive], 0)));
  });

  it('is all or nothing: a denial at one level reserves nothing at the others', () => {
    const store = new MemoryLimitStore();
    const org = level('org', { rpm: 2 });
    const key = level('key', { rpm: 1 });
    granted(store.reserveNow(ask([org, key], 0)));
    denied(store.reserveNow(ask([org, key], 0)));
    denied(store.reserveNow(ask([org, key], 0)));
    // The org took one request, not three: one more fits on the org alone.
    granted(store.reserveNow(ask([org], 0)));
    denied(store.reserveNow(ask([org], 0)));
  });

  it('returns the tightest denial: a spent budget first, then the longest wait', () => {
    const store = new MemoryLimitStore();
    const team = level('team', { rpm: 1 });
    const key = level('key', { rpm: 2 });
    granted(store.reserveNow(ask([team, key], 0)));
    const rate = denied(store.reserveNow(ask([key, team], 0)));
    assert.equal(rate.level.kind, 'team');
    assert.equal(rate.retryAfterMs, 60_000);
    const org = level('org', {}, { dailyMicros: 10 });
    const spent = denied(store.reserveNow(ask([team, org], 0, { cost: 11 })));
    assert.equal(spent.level.kind, 'org');
    assert.equal(spent.dimension, 'daily_spend');
  });

  it('budgets: estimates are reserved, actual cost committed, and the day resets at midnight UTC', () => {
    const store = new MemoryLimitStore();
    const team = level('team', {}, { dailyMicros: 1_000 });
    const t = Date.UTC(2026, 0, 15, 12);
    const a = granted(store.reserveNow(ask([team], t, { cost: 400 })));
    const b = granted(store.reserveNow(ask([team], t, { cost: 400 })));
    const denial = denied(store.reserveNow(ask([team], t, { cost: 400 })));
    assert.equal(denial.dimension, 'daily_spend');
    assert.equal(denial.limit, 1_000);
    assert.equal(denial.spentMicros, 800);
    assert.equal(denial.retryAfterMs, 12 * 3_600_000);
    store.settleNow(a, { now: t, inputTokens: 0, outputTokens: 0, costMicros: 300 });
    store.settleNow(b, { now: t, inputTokens: 0, outputTokens: 0, costMicros: 300 });
    granted(store.reserveNow(ask([team], t, { cost: 400 })));
    denied(store.reserveNow(ask([team], t, { cost: 1 })));
    const midnight = Date.UTC(2026, 0, 16);
    denied(store.reserveNow(ask([team], midnight - 1, { cost: 1 })));
    granted(store.reserveNow(ask([team], midnight, { cost: 1_000 })));
  });

  it('a monthly cap spans days and resets on the 1st', () => {
    const store = new MemoryLimitStore();
    const org = level('org', {}, { monthlyMicros: 500 });
    const spend = (now: number, cost: number) => store.settleNow(granted(store.reserveNow(ask([org], now, { cost }))), { now, inputTokens: 0, outputTokens: 0, costMicros: cost });
    spend(Date.UTC(2026, 1, 1), 300);
    spend(Date.UTC(2026, 1, 20), 200);
    assert.equal(denied(store.reserveNow(ask([org], Date.UTC(2026, 2, 1) - 1, { cost: 1 }))).dimension, 'monthly_spend');
    granted(store.reserveNow(ask([org], Date.UTC(2026, 2, 1), { cost: 500 })));
  });

  it('reports a soft threshold crossing once per period', () => {
    const store = new MemoryLimitStore();
    const team = level('team', {}, { dailyMicros: 1_000 });
    const t = Date.UTC(2026, 0, 15);
    const spend = (now: number, cost: number) => store.settleNow(granted(store.reserveNow(ask([team], now, { cost }))), { now, inputTokens: 0, outputTokens: 0, costMicros: cost });
    assert.deepEqual(spend(t, 799), []);
    const crossed = spend(t, 1);
    assert.equal(crossed.length, 1);
    assert.deepEqual({ period: crossed[0]!.period, spent: crossed[0]!.spentMicros, cap: crossed[0]!.capMicros }, { period: 'day', spent: 800, cap: 1_000 });
    assert.deepEqual(spend(t, 100), []);
    assert.equal(spend(t + DAY, 900).length, 1, 'a new day alerts again');
  });

  it('seeded spend counts against the cap', async () => {
    const store = new MemoryLimitStore();
    const key = level('key', {}, { dailyMicros: 1_000 });
    const t = Date.UTC(2026, 0, 15);
    await store.seedSpend(key.id, calendar.at(t), 950, 950);
    granted(store.reserveNow(ask([key], t, { cost: 50 })));
    denied(store.reserveNow(ask([key], t, { cost: 1 })));
  });
});

describe('BudgetCalendar', () => {
  it('names UTC days and months and knows when they end', () => {
    const periods = new BudgetCalendar('UTC').at(Date.UTC(2026, 1, 28, 23, 59, 59, 999));
    assert.deepEqual(periods, { day: '2026-02-28', month: '2026-02', dayEndsAt: Date.UTC(2026, 2, 1), monthEndsAt: Date.UTC(2026, 2, 1) });
  });

  it('follows a time zone across a daylight-saving change', () => {
    const calendar = new BudgetCalendar('America/New_York');
    // 8 March 2026: clocks spring forward, so the local day is 23 hours long.
    const before = Date.UTC(2026, 2, 8, 5) - 1;
    assert.equal(calendar.at(before).day, '2026-03-07');
    const periods = calendar.at(Date.UTC(2026, 2, 8, 5));
    assert.equal(periods.day, '2026-03-08');
    assert.equal(periods.dayEndsAt - Date.UTC(2026, 2, 8, 5), 23 * 3_600_000);
    assert.equal(periods.monthEndsAt, Date.UTC(2026, 3, 1, 4));
    assert.equal(calendar.monthStart(Date.UTC(2026, 2, 8, 5)), Date.UTC(2026, 2, 1, 5));
  });
});
