// `npm run bench:limiter`: the Redis LimitStore next to the memory one (SPEC PERF-5: ≤ 1 round
// trip, ≤ 0.3 ms), then a gateway on each, end to end. Part 1 calls the stores directly: each
// reserve covers org, team, user and key (rpm, input/output TPM, concurrency, daily and monthly
// budgets) plus a deployment level, then settles; sequential p50/p99 next to what a bare round
// trip costs on this machine (raw-socket PING, client PING, a trivial script, redis-cli), the
// script's own time inside Redis, and throughput with 64 in flight. Part 2 (bench/limiter-gateway.ts)
// loads a gateway with tenancy limits on memory and one on Redis. Redis is a private
// redis-server on a free port (BENCH_REDIS_URL to use another; its command stats get reset).
// Writes bench/results/limiter-*.json.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { connectRedis, luaScript, type RedisLink } from '../src/shared/redis-connection.js';
import { RedisLimitStore } from '../src/shared/redis-limit-store.js';
import { BudgetCalendar } from '../src/tenancy/budget-periods.js';
import type { LimitLevel, LimitStore, ReserveInput } from '../src/tenancy/limit-store.js';
import { MemoryLimitStore } from '../src/tenancy/memory-limit-store.js';
import { freePort, startRedis } from '../test/helpers/redis-server.js';
import { REPO_ROOT } from './bench-child.js';
import { formatNumber, formatTable } from './bench-report.js';
import { benchGateways, type GatewayBenchResult } from './limiter-gateway.js';
import { machineFacts } from './machine-facts.js';
import { round, summarize, type LatencySummary } from './stats.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`usage: npm run bench:limiter
  BENCH_LIMITER_ROUNDS  sequential calls per limiter figure (default 20000)
  BENCH_CONNECTIONS     connections of the gateway comparison (default 32)
  BENCH_WINDOW_S, BENCH_GATEWAY_ROUNDS  gateway windows: seconds each (default 5) and rounds (default 3)
  BENCH_SKIP_GATEWAY=1  only the limiter figures, no gateways
  BENCH_REDIS_URL       an existing Redis instead of a private redis-server (its command stats get reset)
Writes bench/results/limiter-<date>.json and limiter-latest.json.
`);
  process.exit(0);
}

const ROUNDS = Number(process.env.BENCH_LIMITER_ROUNDS ?? 20_000);
const IN_FLIGHT = 64;
const GATEWAY = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  warmupS: Number(process.env.BENCH_WARMUP_S ?? 2),
  windowS: Number(process.env.BENCH_WINDOW_S ?? 5),
  rounds: Number(process.env.BENCH_GATEWAY_ROUNDS ?? 3),
  maxTokens: 16,
};
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
const startedAt = performance.now();
const progress = (message: string) => process.stderr.write(`[bench:limiter ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);

/** Sequential latency of `call`, ms, after a warm-up, with the bench process's own event-loop delay meanwhile. */
async function timed(call: () => Promise<unknown>, rounds = ROUNDS): Promise<LatencySummary & { loopDelayP99Ms: number }> {
  const { first } = await timedPair(async (mark) => {
    await call();
    mark();
  }, rounds);
  return first;
}

/**
 * Sequential latency of two steps of one call (`mark` ends the first): ms summaries of the first
 * step and of both, and the bench process's event-loop delay p99 meanwhile (its own stalls).
 */
async function timedPair(call: (mark: () => void) => Promise<void>, rounds = ROUNDS) {
  const noop = () => {};
  for (let i = 0; i < 1_000; i++) await call(noop);
  const first = new Float64Array(rounds);
  const both = new Float64Array(rounds);
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await call(() => (first[i] = performance.now() - start));
    both[i] = performance.now() - start;
  }
  loop.disable();
  const loopDelayP99Ms = loop.percentile(99) / 1e6;
  return { first: { ...summarize(first), loopDelayP99Ms }, both: { ...summarize(both), loopDelayP99Ms } };
}

async function storeFigures(store: LimitStore) {
  // Every reserve is settled, as in the gateway: unsettled ones would pile up concurrency leases.
  const { first: reserve, both: reserveSettle } = await timedPair(async (mark) => {
    const r = await store.reserve(ask());
    mark();
    if (!r.ok) throw new Error('denied');
    await store.settle(r.reservation, usage);
  });
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
  return { reserve, reserveSettle, inFlightPerS: round(ROUNDS / ((performance.now() - started) / 1000), 0) };
}

/** PING over a bare socket, no client library: the floor of one round trip from Node. */
async function rawPing(url: URL): Promise<LatencySummary & { loopDelayP99Ms: number }> {
  const socket = connect({ host: url.hostname, port: Number(url.port || 6379), noDelay: true });
  await new Promise((resolve) => socket.once('connect', resolve));
  let waiting: (() => void) | undefined;
  socket.on('data', () => waiting?.());
  try {
    return await timed(
      () =>
        new Promise<void>((resolve) => {
          waiting = resolve;
          socket.write('PING\r\n');
        }),
    );
  } finally {
    socket.destroy();
  }
}

/** Microseconds per call Redis itself spent in EVALSHA over `calls` (commandstats). */
async function serverMicros(redis: RedisLink, calls: () => Promise<void>): Promise<number> {
  await redis.send(['CONFIG', 'RESETSTAT']);
  await calls();
  const stats = String(await redis.send(['INFO', 'commandstats']));
  return Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(stats)?.[1] ?? Number.NaN);
}

/** `redis-cli --latency` (1 ms resolution, ~100 samples in 1 s) and `--intrinsic-latency` (scheduling noise of this box). */
function redisCli(url: URL) {
  const args = ['-h', url.hostname, '-p', url.port || '6379'];
  const latency = spawnSync('redis-cli', [...args, '--latency', '-i', '2'], { encoding: 'utf8' });
  const [min, max, avg, samples] = (latency.stdout ?? '').trim().split(/\s+/).map(Number);
  const intrinsic = spawnSync('redis-cli', ['--intrinsic-latency', '3'], { encoding: 'utf8' });
  const maxUs = [...(intrinsic.stdout ?? '').matchAll(/Max latency so far: (\d+) microseconds/g)].map((m) => Number(m[1])).at(-1);
  const avgUs = Number(/avg latency: ([\d.]+) microseconds/.exec(intrinsic.stdout ?? '')?.[1] ?? Number.NaN);
  return { latencyMs: { min, max, avg, samples }, intrinsicMaxUs: maxUs, intrinsicAvgUs: avgUs };
}

async function privateRedis(): Promise<{ url: string; child?: ChildProcess }> {
  if (process.env.BENCH_REDIS_URL) return { url: process.env.BENCH_REDIS_URL };
  const port = await freePort();
  return { url: `redis://127.0.0.1:${port}`, child: await startRedis(port) };
}

const redisServer = await privateRedis();
// The private redis-server must not outlive a harness that dies or is interrupted.
process.once('exit', () => redisServer.child?.kill('SIGKILL'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => process.exit(130));
const url = new URL(redisServer.url);
const prefix = `bwbench:${process.pid}:`;
const redis = await connectRedis(redisServer.url, prefix);
const pid = Number(/process_id:(\d+)/.exec(String(await redis.send(['INFO', 'server'])))?.[1]);
try {
  progress(`${ROUNDS} rounds per figure on ${redisServer.url}${redisServer.child ? ' (private redis-server)' : ''}`);
  const memory = await storeFigures(new MemoryLimitStore());
  const redisStore = new RedisLimitStore(redis);
  const redisFigures = await storeFigures(redisStore);
  const trivial = luaScript('return 1');
  const baseline = {
    rawPing: await rawPing(url),
    clientPing: await timed(() => redis.send(['PING'])),
    trivialScript: await timed(() => redis.evalScript(trivial, [], [])),
    // Reserves only (no settles in the stats); their leases are far below the concurrency limit.
    reserveServerUs: await serverMicros(redis, async () => {
      for (let i = 0; i < 5_000; i++) await redisStore.reserve(ask());
    }),
    redisCli: redisCli(url),
  };
  progress('limiter figures done; gateways next');
  const gateways: GatewayBenchResult[] = process.env.BENCH_SKIP_GATEWAY === '1' ? [] : await benchGateways(GATEWAY, { url: redisServer.url, pid }, progress);

  const ms = (s: LatencySummary) => [formatNumber(s.p50, 3), formatNumber(s.p99, 3), formatNumber(s.max, 2)];
  const rows = [
    ['raw socket PING', ...ms(baseline.rawPing), formatNumber(baseline.rawPing.loopDelayP99Ms, 2)],
    ['@redis/client PING', ...ms(baseline.clientPing), formatNumber(baseline.clientPing.loopDelayP99Ms, 2)],
    ['EVALSHA return 1', ...ms(baseline.trivialScript), formatNumber(baseline.trivialScript.loopDelayP99Ms, 2)],
    ['memory reserve', ...ms(memory.reserve), formatNumber(memory.reserve.loopDelayP99Ms, 2)],
    ['redis reserve', ...ms(redisFigures.reserve), formatNumber(redisFigures.reserve.loopDelayP99Ms, 2)],
    ['redis reserve+settle', ...ms(redisFigures.reserveSettle), formatNumber(redisFigures.reserveSettle.loopDelayP99Ms, 2)],
  ];
  console.log(`\nLimiter calls, sequential (${ROUNDS} each; 5 levels × rpm, TPM, concurrency, budgets)`);
  console.log(formatTable(['call', 'p50 ms', 'p99 ms', 'max ms', 'loop delay p99 ms'], rows));
  const cli = baseline.redisCli;
  console.log(`reserve script inside Redis: ${formatNumber(baseline.reserveServerUs, 1)} µs/call; redis-cli --latency: avg ${cli.latencyMs.avg} ms, max ${cli.latencyMs.max} ms (${cli.latencyMs.samples} samples, 1 ms resolution); intrinsic latency max ${cli.intrinsicMaxUs} µs`);
  console.log(`64 in flight: memory ${memory.inFlightPerS} reserve+settle/s, redis ${redisFigures.inFlightPerS} reserve+settle/s`);
  if (gateways.length > 0) {
    console.log(`\nGateway end to end: ${GATEWAY.connections} connections, ${GATEWAY.rounds} × ${GATEWAY.windowS} s windows per limiter, alternating; instant sim upstream`);
    console.log(
      formatTable(
        ['limiter', 'req/s', 'p50 ms', 'p99 ms', 'failures', 'gateway µs/req', 'redis µs/req', 'other CPU %'],
        gateways.map((g) => [g.limiter, formatNumber(g.rps), formatNumber(g.latencyMs.p50, 2), formatNumber(g.latencyMs.p99, 2), String(g.failures), formatNumber(g.cpuUsPerRequest.gateway, 0), formatNumber(g.cpuUsPerRequest.redis, 0), formatNumber(g.otherCpuPercent, 1)]),
      ),
    );
  }
  const date = new Date().toISOString();
  const results = { schema: 1, date, command: 'npm run bench:limiter', machine: machineFacts(REPO_ROOT), rounds: ROUNDS, limiter: { memory, redis: redisFigures, baseline }, gateway: { options: GATEWAY, results: gateways } };
  const dir = join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  writeFileSync(join(dir, `limiter-${date.replace(/[:.]/g, '-')}.json`), json);
  writeFileSync(join(dir, 'limiter-latest.json'), json);
  progress(`wrote bench/results/limiter-latest.json`);
} finally {
  const keys = (await redis.send(['KEYS', `${prefix}*`])) as string[];
  if (keys.length > 0) await redis.send(['DEL', ...keys]);
  await redis.close();
  redisServer.child?.kill('SIGTERM');
}
