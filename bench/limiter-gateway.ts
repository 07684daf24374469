// The gateway half of `npm run bench:limiter`: one Breakwater on the memory LimitStore and one on
// the Redis LimitStore, same config otherwise, the same instant sim upstream behind both, loaded
// by autocannon with fixed connections in alternating windows so machine noise hits both alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBenchChild, waitReady, type BenchChild } from './bench-child.js';
import { BENCH_MODEL, limitedKey, startBreakwater, writeBenchConfig } from './breakwater-child.js';
import { completionBody, type HttpTarget } from './http-target.js';
import { mergeWindows, otherCpuShare, percent, type MeasuredWindow } from './measure-window.js';
import { round, summarize, type LatencySummary } from './stats.js';
import { measureThroughput } from './throughput-run.js';

/** Load shape of the gateway comparison. */
export interface GatewayBenchOptions {
  connections: number;
  warmupS: number;
  windowS: number;
  rounds: number;
  maxTokens: number;
}

/** One limiter backend's merged windows. */
export interface GatewayBenchResult {
  limiter: 'memory' | 'redis';
  requests: number;
  failures: number;
  rps: number;
  latencyMs: LatencySummary;
  /** CPU µs per request: client, upstream, gateway, and redis-server (redis run only). */
  cpuUsPerRequest: Record<string, number>;
  otherCpuPercent: number | undefined;
}

// Every level of the principal tree limited on every dimension (never binding), with budgets, as
// in the limiter-only half: each request reserves and settles org, team, user and key.
const LIMITS = { rpm: 1_000_000_000, inputTpm: 1_000_000_000, outputTpm: 1_000_000_000, concurrency: 100_000 };
const BUDGETS = { dailyUsd: 1_000_000, monthlyUsd: 10_000_000 };

interface Started {
  limiter: GatewayBenchResult['limiter'];
  target: HttpTarget;
  child: BenchChild;
  dir: string;
}

async function startGateway(limiter: Started['limiter'], simUrl: string, upstreamPid: number, redis: { url: string; pid: number }): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), `bw-bench-${limiter}-`));
  const configPath = writeBenchConfig(dir, simUrl);
  if (limiter === 'redis') writeFileSync(configPath, `shared: { redis: "${redis.url}", keyPrefix: "bwbench:${process.pid}:" }\n`, { flag: 'a' });
  const started = await startBreakwater({ dataDir: join(dir, 'data'), configPath, stdoutFile: join(dir, 'stdout.log'), name: `breakwater-${limiter}` });
  const key = await limitedKey(started.url, started.adminKey, { policy: { limits: LIMITS, budgets: BUDGETS }, withUser: true });
  const pids: Record<string, number> = { upstream: upstreamPid, gateway: started.child.pid };
  if (limiter === 'redis') pids.redis = redis.pid;
  return { limiter, child: started.child, dir, target: { name: 'breakwater', url: started.url, model: BENCH_MODEL, headers: { authorization: `Bearer ${key}` }, pids } };
}

function result(limiter: Started['limiter'], window: MeasuredWindow): GatewayBenchResult {
  const cpuUsPerRequest: Record<string, number> = {};
  for (const [name, us] of Object.entries(window.cpuUs)) cpuUsPerRequest[name] = round(us / Math.max(1, window.ok), 1);
  return {
    limiter,
    requests: window.ok,
    failures: window.failures,
    rps: round(window.ok / window.elapsedS, 0),
    latencyMs: summarize(window.samples.latency ?? []),
    cpuUsPerRequest,
    otherCpuPercent: percent(otherCpuShare(window)),
  };
}

/**
 * Runs the comparison: memory and Redis gateways side by side in one run, windows alternating
 * (memory, redis, redis, memory, …) so drift in machine load does not favour either.
 */
export async function benchGateways(options: GatewayBenchOptions, redis: { url: string; pid: number }, progress: (message: string) => void): Promise<GatewayBenchResult[]> {
  const upstream = spawnBenchChild({ name: 'upstream', args: ['--import', 'tsx', 'bench/upstream.ts'], env: { ...process.env, BENCH_SIM_TIME_SCALE: '0' }, keepStdin: true });
  const simUrl = String((await waitReady(upstream)).url);
  const gateways: Started[] = [];
  try {
    for (const limiter of ['memory', 'redis'] as const) gateways.push(await startGateway(limiter, simUrl, upstream.pid, redis));
    const body = completionBody(BENCH_MODEL, false, options.maxTokens);
    const windows = new Map<Started['limiter'], MeasuredWindow[]>(gateways.map((g) => [g.limiter, []]));
    for (const gateway of gateways) {
      progress(`warming ${gateway.limiter} (${options.warmupS} s)`);
      await measureThroughput(gateway.target, body, { connections: options.connections, warmupS: 0, durationS: options.warmupS });
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? gateways : [...gateways].reverse();
      for (const gateway of order) {
        const window = await measureThroughput(gateway.target, body, { connections: options.connections, warmupS: 0, durationS: options.windowS });
        windows.get(gateway.limiter)!.push(window);
        progress(`round ${round + 1}/${options.rounds} ${gateway.limiter}: ${(window.ok / window.elapsedS).toFixed(0)} req/s, ${window.failures} failures`);
      }
    }
    return gateways.map((g) => result(g.limiter, mergeWindows(windows.get(g.limiter)!)));
  } finally {
    await Promise.all([...gateways.map((g) => g.child.stop()), upstream.stop()]);
    for (const gateway of gateways) rmSync(gateway.dir, { recursive: true, force: true });
  }
}
