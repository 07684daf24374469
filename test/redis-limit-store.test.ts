import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectRedis } from '../src/shared/redis-connection.js';
import { OutageAwareLimitStore } from '../src/shared/outage-limit-store.js';
import { RedisLimitStore } from '../src/shared/redis-limit-store.js';
import { BudgetCalendar } from '../src/tenancy/budget-periods.js';
import type { LevelKind, LimitLevel, ReserveInput, ReserveResult } from '../src/tenancy/limit-store.js';
import { redisForTest, servicesMissing } from './helpers/services.js';

const skip = await servicesMissing();
const calendar = new BudgetCalendar('UTC');
let seq = 0;

function level(kind: LevelKind, id: string, limits: LimitLevel['limits'], budgets: { dailyMicros?: number; monthlyMicros?: number } = {}): LimitLevel {
  return { id: `${kind}:${id}`, kind, name: `${kind} ${id}`, limits, softThreshold: 0.8, ...budgets };
}

function ask(levels: LimitLevel[], amounts: { input?: number; output?: number; cost?: number } = {}): ReserveInput {
  const now = Date.now();
  return { id: `r${++seq}`, now, levels, inputTokens: amounts.input ?? 0, outputTokens: amounts.output ?? 0, costMicros: amounts.cost ?? 0, periods: calendar.at(now), leaseUntil: now + 600_000 };
}

const granted = (result: ReserveResult) => {
  assert.ok(result.ok, result.ok ? '' : `denied: ${result.denial.level.id} ${result.denial.dimension}`);
  return result.reservation;
};
const denied = (result: ReserveResult) => {
  assert.ok(!result.ok, 'expected a denial');
  return result.denial;
};

// Limits low enough (a few per minute) that Redis time moving during a test never refills a bucket.
describe('Redis LimitStore (one Lua script per call, Redis TIME)', { skip }, () => {
  let env: Awaited<ReturnType<typeof redisForTest>>;
  let store: RedisLimitStore;
  before(async () => {
    env = await redisForTest();
    store = new RedisLimitStore(env.redis);
  });
  after(() => env.cleanup());

  it('3 requests per minute: 3 pass, the 4th waits about 20 s, named by its level and dimension', async () => {
    const levels = [level('org', 'o1', { rpm: 1_000 }), level('key', 'k1', { rpm: 3 })];
    for (let i = 0; i < 3; i++) granted(await store.reserve(ask(levels)));
    const denial = denied(await store.reserve(ask(levels)));
    assert.equal(denial.level.id, 'key:k1');
    assert.equal(denial.dimension, 'requests');
    assert.ok(denial.retryAfterMs! > 19_000 && denial.retryAfterMs! <= 20_000, String(denial.retryAfterMs));
    assert.equal(denial.rate?.requests?.remaining, 0);
  });

  it('is all or nothing: a denial at one level reserves nothing at the others', async () => {
    const org = level('org', 'o2', { rpm: 2 });
    const tight = level('key', 'k2', { rpm: 1 });
    granted(await store.reserve(ask([org, tight])));
    denied(await store.reserve(ask([org, tight])));
    denied(await store.reserve(ask([org, tight])));
    // The org spent one of two: the denied attempts took nothing from it.
    granted(await store.reserve(ask([org, level('key', 'k3', {})])));
    denied(await store.reserve(ask([org, level('key', 'k3', {})])));
  });

  it('200 concurrent reserves against 50 per minute admit exactly 50', async () => {
    const levels = [level('org', 'o4', { rpm: 50 })];
    const results = await Promise.all(Array.from({ length: 200 }, () => store.reserve(ask(levels))));
    assert.equal(results.filter((r) => r.ok).length, 50);
  });

  it('concurrency slots are held until settled', async () => {
    const levels = [level('team', 't1', { concurrency: 2 })];
    const first = granted(await store.reserve(ask(levels)));
    granted(await store.reserve(ask(levels)));
    assert.equal(denied(await store.reserve(ask(levels))).dimension, 'concurrency');
    await store.settle(first, { now: Date.now(), inputTokens: 0, outputTokens: 0, costMicros: 0 });
    granted(await store.reserve(ask(levels)));
  });

  it('budgets: an estimate that does not fit is refused, settle commits the actual cost and reports the soft crossing once', async () => {
    const levels = [level('org', 'o5', {}, { dailyMicros: 100 })];
    const first = granted(await store.reserve(ask(levels, { cost: 60 })));
    const denial = denied(await store.reserve(ask(levels, { cost: 60 })));
    assert.equal(denial.dimension, 'daily_spend');
    assert.equal(denial.spentMicros, 60);
    assert.deepEqual(await store.settle(first, { now: Date.now(), inputTokens: 0, outputTokens: 0, costMicros: 30 }), []);
    const second = granted(await store.reserve(ask(levels, { cost: 60 })));
    const crossings = await store.settle(second, { now: Date.now(), inputTokens: 0, outputTokens: 0, costMicros: 55 });
    assert.deepEqual(crossings.map((c) => [c.level.id, c.period, c.spentMicros, c.capMicros]), [['org:o5', 'day', 85, 100]]);
    const third = granted(await store.reserve(ask(levels, { cost: 10 })));
    assert.deepEqual(await store.settle(third, { now: Date.now(), inputTokens: 0, outputTokens: 0, costMicros: 10 }), [], 'reported once per period');
    assert.equal(denied(await store.reserve(ask(levels, { cost: 10 }))).spentMicros, 95);
  });

  it('settle refunds unused output tokens', async () => {
    const levels = [level('key', 'k6', { outputTpm: 1_000 })];
    const first = granted(await store.reserve(ask(levels, { output: 1_000 })));
    denied(await store.reserve(ask(levels, { output: 100 })));
    await store.settle(first, { now: Date.now(), inputTokens: 0, outputTokens: 100, costMicros: 0 });
    granted(await store.reserve(ask(levels, { output: 800 })));
  });

  it('keeps a tenant\'s counters under one {tenant} hash tag (Cluster-safe)', async () => {
    granted(await store.reserve(ask([level('org', 'o7', { rpm: 5 }), level('team', 't7', { rpm: 5 }), level('key', 'k7', { concurrency: 1 })])));
    const keys = ((await env.redis.send(['KEYS', `${env.redis.prefix}*7*`])) as string[]).sort();
    assert.deepEqual(keys, [
      `${env.redis.prefix}{org:o7}:lim:key:k7`,
      `${env.redis.prefix}{org:o7}:lim:key:k7:leases`,
      `${env.redis.prefix}{org:o7}:lim:org:o7`,
      `${env.redis.prefix}{org:o7}:lim:team:t7`,
    ]);
  });
});

describe('Redis outage policy (SPEC MT-14)', { skip }, () => {
  // Nothing listens on port 1: the client never connects, exactly like Redis being down.
  const down = () => connectRedis('redis://127.0.0.1:1', 'bwtest:down:');

  it('limits fall back to limit ÷ replicas locally; budgets fail closed; both reported', async () => {
    const redis = await down();
    try {
      const store = new OutageAwareLimitStore(new RedisLimitStore(redis), redis, { limits: 'local', budgets: 'closed', replicas: 3 });
      const levels = [level('key', 'k1', { rpm: 30 })];
      for (let i = 0; i < 10; i++) granted(await store.reserve(ask(levels)));
      assert.equal(denied(await store.reserve(ask(levels))).dimension, 'requests', 'a third of 30');
      await assert.rejects(store.reserve(ask([level('org', 'o1', {}, { monthlyMicros: 1_000 })])), (error: Error & { code?: string }) => error.code === 'overloaded' && /budgets fail closed/.test(error.message));
      assert.match(store.degraded ?? '', /limits: local share \(1\/3 of each limit\), budgets: closed/);
    } finally {
      await redis.close();
    }
  });

  it('closed refuses limited requests, open admits them; unlimited requests always pass', async () => {
    const redis = await down();
    try {
      const closed = new OutageAwareLimitStore(new RedisLimitStore(redis), redis, { limits: 'closed', budgets: 'open', replicas: 1 });
      await assert.rejects(closed.reserve(ask([level('key', 'k1', { rpm: 30 })])), /limits fail closed/);
      granted(await closed.reserve(ask([level('key', 'k1', {}, { dailyMicros: 5 })], { cost: 100 })));
      const open = new OutageAwareLimitStore(new RedisLimitStore(redis), redis, { limits: 'open', budgets: 'open', replicas: 1 });
      for (let i = 0; i < 5; i++) granted(await open.reserve(ask([level('key', 'k1', { rpm: 1 })])));
    } finally {
      await redis.close();
    }
  });
});
