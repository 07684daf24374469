// `npm run bench:limiter`: the Redis LimitStore next to the memory one (SPEC PERF-5: ≤ 1 round
// trip, ≤ 0.3 ms). Each reserve covers org, team, user and key (rpm, input/output TPM,
// concurrency, daily and monthly budgets) plus a deployment level, then settles. Reports
// sequential latency (p50/p99 of reserve, and of reserve + settle) and throughput with 64 requests
// in flight. Needs Redis at BENCH_REDIS_URL (default redis://127.0.0.1:6379); keys are deleted after.
import { performance } from 'node:perf_hooks';
import { connectRedis } from '../src/shared/redis-connection.js';
import { RedisLimitStore } from '../src/shared/redis-limit-store.js';
import { BudgetCalendar } from '../src/tenancy/budget-periods.js';
import type { LimitLevel, LimitStore, ReserveInput } from '../src/tenancy/limit-store.js';
import { MemoryLimitStore } from '../src/tenancy/memory-limit-store.js';

const ROUNDS = Number(process.env.BENCH_LIMITER_ROUNDS ?? 20_000);
const IN_FLIGHT = 64;
const calendar = new BudgetCalendar('UTC');
const big = { rpm: 1e9, inputTpm: 1e12, outputTpm: 1e12, concurrency: 1e6 };
const level = (kind: LimitLevel['kind'], id: string): LimitLevel => ({ id: `${kind}:${id}`, kind, name: id, limits: big, dailyMicros: 1e15, monthlyMicros: 1e15, softThreshold: 0.8 });
const levels = [level('org', 'o'), level('team', 't'), level('user', 'u'), level('key', 'k'), level('deployment', 'sim/sim-fast')];
let n = 0;
const ask = (): ReserveInput => {
  const now = Date.now();
  return { id: `r${++n}`, now, levels, inputTokens: 50, outputTokens: 200, costMicros: 100, periods: calendar.at(now), leaseUntil: now + 600_000 };
};
const usage = { now: 0, inputTokens: 50, outputTokens: 150, costMicros: 80 };

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function measure(name: string, store: LimitStore) {
  for (let i = 0; i < 1_000; i++) {
    const r = await store.reserve(ask());
    if (r.ok) await store.settle(r.reservation, usage);
  }
  const reserve: number[] = [];
  const both: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    const r = await store.reserve(ask());
    reserve.push(performance.now() - start);
    if (!r.ok) throw new Error('denied');
    await store.settle(r.reservation, usage);
    both.push(performance.now() - start);
  }
  reserve.sort((a, b) => a - b);
  both.sort((a, b) => a - b);
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (done < ROUNDS) {
        done++;
        const r = await store.reserve(ask());
        if (r.ok) await store.settle(r.reservation, usage);
      }
    }),
  );
  const rps = ROUNDS / ((performance.now() - started) / 1000);
  const f = (x: number) => x.toFixed(3);
  console.log(`${name.padEnd(7)} reserve p50 ${f(pct(reserve, 0.5))} ms p99 ${f(pct(reserve, 0.99))} ms | reserve+settle p50 ${f(pct(both, 0.5))} ms p99 ${f(pct(both, 0.99))} ms | ${rps.toFixed(0)} reserve+settle/s at ${IN_FLIGHT} in flight`);
}

const prefix = `bwbench:${process.pid}:`;
const redis = await connectRedis(process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix);
try {
  console.log(`${ROUNDS} rounds, 5 levels × (rpm, input/output TPM, concurrency, daily and monthly budget)`);
  await measure('memory', new MemoryLimitStore());
  await measure('redis', new RedisLimitStore(redis));
} finally {
  const keys = (await redis.send(['KEYS', `${prefix}*`])) as string[];
  if (keys.length > 0) await redis.send(['DEL', ...keys]);
  await redis.close();
}
