import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnBenchChild, waitReady, type BenchChild } from './bench-child.js';
import { checkTarget, type TargetSet } from './bench-environment.js';
import type { BenchOptions } from './bench-options.js';
import { formatNumber, gatewayCpuPerRequest } from './bench-report.js';
import { BENCH_MODEL, BREAKWATER_CLI, breakwaterEnv, writeBenchConfig } from './breakwater-child.js';
import { completionBody, type HttpTarget } from './http-target.js';
import { mergeWindows, type MeasuredWindow } from './measure-window.js';
import { measureThroughput, throughputResult, type ThroughputResult } from './throughput-run.js';

/** Worker counts the `workers` phase compares (issue 11: `--workers N` at N = 1 and 2). */
export const WORKER_COUNTS = [1, 2] as const;

/** Shared state for more than one worker; the key prefix keeps the run's keys apart from anyone else's. */
const BENCH_REDIS = 'redis://127.0.0.1:6379';

/** Non-streaming throughput of the bare proxy and of Breakwater with each worker count, side by side. */
export interface WorkersResult {
  bare: ThroughputResult;
  /** By worker count. */
  breakwater: Record<string, ThroughputResult>;
}

/** The worker processes a cluster primary forked (their CPU is the gateway's too). */
function childPids(pid: number): number[] {
  const path = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Starts `breakwater start --workers n` over the sim upstream with shared state in Redis. */
async function startWorkers(tmpDir: string, upstreamUrl: string, workers: number, log: (message: string) => void): Promise<{ child: BenchChild; target: HttpTarget }> {
  const dir = join(tmpDir, `workers-${workers}`);
  mkdirSync(dir, { recursive: true });
  const configPath = writeBenchConfig(dir, upstreamUrl);
  appendFileSync(configPath, `shared:\n  redis: ${BENCH_REDIS}\n  keyPrefix: "bw-bench-${process.pid}-${workers}:"\n`);
  const child = spawnBenchChild({
    name: `breakwater --workers ${workers}`,
    args: [BREAKWATER_CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--json', '--data-dir', join(dir, 'data'), '--config', configPath, '--workers', String(workers)],
    env: breakwaterEnv(),
    stdoutFile: join(dir, 'breakwater.log'),
  });
  try {
    const ready = await waitReady(child);
    const virtualKey = typeof ready.virtualKey === 'string' ? ready.virtualKey : '';
    if (!virtualKey) throw new Error(`breakwater --workers ${workers} printed no virtualKey: ${JSON.stringify(ready)}`);
    const pids: Record<string, number> = { proxy: child.pid };
    // With one worker the primary serves itself; with more, it forked them.
    childPids(child.pid).forEach((pid, i) => (pids[`worker${i + 1}`] = pid));
    log(`breakwater --workers ${workers}: pids ${Object.values(pids).join(', ')}`);
    const target: HttpTarget = { name: 'breakwater', url: String(ready.url), model: BENCH_MODEL, headers: { authorization: `Bearer ${virtualKey}` }, pids };
    return { child, target };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/**
 * The `workers` phase: non-streaming throughput of the bare proxy and of Breakwater started with
 * `--workers 1` and `--workers 2` (both on shared Redis, so only the process count differs), in
 * alternating rounds over the same sim upstream, like the other load phases.
 */
export async function measureWorkers(set: TargetSet, tmpDir: string, options: BenchOptions, log: (message: string) => void): Promise<WorkersResult> {
  const upstreamUrl = set.direct.url;
  const gateways: Array<{ child: BenchChild; target: HttpTarget; workers: number }> = [];
  try {
    for (const workers of WORKER_COUNTS) gateways.push({ ...(await startWorkers(tmpDir, upstreamUrl, workers, log)), workers });
    await Promise.all(gateways.map((g) => checkTarget(g.target, options.maxTokens)));
    const entries: Array<{ key: string; target: HttpTarget }> = [{ key: 'bare', target: set.bare }, ...gateways.map((g) => ({ key: String(g.workers), target: g.target }))];
    const windows = new Map<string, MeasuredWindow[]>(entries.map((e) => [e.key, []]));
    const durationS = options.durationS / options.rounds;
    log(`workers: bare, --workers ${WORKER_COUNTS.join(' and ')} × ${options.rounds} round(s) × ${formatNumber(durationS, 1)} s`);
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? entries : [...entries].reverse();
      const warmupS = round === 0 ? options.warmupS : Math.min(options.warmupS, 0.5);
      for (const { key, target } of order) {
        windows.get(key)!.push(await measureThroughput(target, completionBody(target.model, false, options.maxTokens), { connections: options.connections, warmupS, durationS }));
      }
    }
    const summarize = (key: string, target: HttpTarget) => throughputResult(target, false, options.connections, mergeWindows(windows.get(key)!));
    const result: WorkersResult = { bare: summarize('bare', set.bare), breakwater: {} };
    for (const g of gateways) {
      const r = summarize(String(g.workers), g.target);
      result.breakwater[String(g.workers)] = r;
      log(`workers · --workers ${g.workers}  ${formatNumber(r.rps)} req/s (bare ${formatNumber(result.bare.rps)}), p99 ${formatNumber(r.latencyMs.p99, 2)} ms, gateway CPU ${formatNumber(gatewayCpuPerRequest(r))} µs/req`);
    }
    return result;
  } finally {
    await Promise.all(gateways.map((g) => g.child.stop()));
  }
}
