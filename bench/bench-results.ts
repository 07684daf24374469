import type { ComponentCost } from './component-costs.js';
import type { BenchOptions } from './bench-options.js';
import type { ColdStartResult } from './cold-start.js';
import type { FixedRateResult } from './fixed-rate-run.js';
import type { HttpTarget } from './http-target.js';
import type { MachineFacts } from './machine-facts.js';
import { round } from './stats.js';
import type { StreamResult } from './stream-run.js';
import type { ThroughputResult } from './throughput-run.js';
import type { WorkersResult } from './workers-phase.js';
import type { StreamsSummary } from './streams-phase.js';

/** One phase's result per target. */
export type ByTarget<T> = Partial<Record<HttpTarget['name'], T>>;

/** Everything one run measured; written as JSON. */
export interface BenchResults {
  schema: 1;
  date: string;
  command: string;
  machine: MachineFacts;
  options: BenchOptions;
  /** Non-streaming, fixed concurrency (PERF-1 throughput). */
  throughput?: ByTarget<ThroughputResult>;
  /** Streaming, fixed concurrency, zero simulated latency. */
  stream?: ByTarget<ThroughputResult>;
  /** Non-streaming, open loop at a fixed rate (PERF-1 added p99). */
  fixedRate?: ByTarget<FixedRateResult>;
  /** N concurrent streams back to back, zero simulated latency: TTFT at saturation. */
  ttft?: ByTarget<StreamResult>;
  /** N concurrent streams with sim-fast's real timing (PERF-2 added TTFT and gap). */
  paced?: ByTarget<StreamResult>;
  /** Non-streaming throughput with `--workers 1` and `2` beside the bare proxy (issue 11). */
  workers?: WorkersResult;
  /** N concurrent long streams on one gateway: RSS and added TTFT (PERF-2, PERF-4). */
  streams?: StreamsSummary;
  /** PERF-3, and the first event of each interactive endpoint on a cold process (CS-5). */
  coldStart?: ColdStartResult;
  /** Micro-benchmarks of single parts of the request path. */
  components?: ComponentCost[];
  /** Breakwater ÷ bare proxy; tracked against the baseline. */
  ratios: Record<string, number>;
  /** Milliseconds Breakwater adds over direct (or bare) at equal load. */
  addedMs: Record<string, number>;
  baseline?: BaselineComparison;
}

/** Which way is better for each tracked ratio. */
export const RATIO_DIRECTION: Readonly<Record<string, 'higher' | 'lower'>> = Object.freeze({
  'throughput.rps': 'higher',
  'throughput.cpuPerRequest': 'lower',
  'stream.rps': 'higher',
  'stream.cpuPerRequest': 'lower',
  'paced.cpuPerStream': 'lower',
});

/** A ratio is a regression when it moves the wrong way by more than this (SPEC M12). */
export const REGRESSION_TOLERANCE = 0.2;

/** The committed reference: ratios of one full run on the reference machine. */
export interface Baseline {
  date: string;
  command: string;
  machine: MachineFacts;
  ratios: Record<string, number>;
}

/** One ratio against the baseline. */
export interface RatioComparison {
  name: string;
  baseline: number;
  current: number;
  /** current ÷ baseline − 1. */
  change: number;
  regression: boolean;
}

/** All tracked ratios against the baseline. */
export interface BaselineComparison {
  date: string;
  gitCommit: string;
  comparisons: RatioComparison[];
  regressions: string[];
}

function ratio(numerator: number | undefined, denominator: number | undefined): number | undefined {
  if (numerator === undefined || denominator === undefined || !(denominator > 0) || !Number.isFinite(numerator)) return undefined;
  return round(numerator / denominator, 3);
}

function put(target: Record<string, number>, name: string, value: number | undefined): void {
  if (value !== undefined && Number.isFinite(value)) target[name] = round(value, 3);
}

/** Breakwater ÷ bare for throughput and proxy CPU per request. */
export function computeRatios(results: BenchResults): Record<string, number> {
  const ratios: Record<string, number> = {};
  const { throughput, stream, paced } = results;
  put(ratios, 'throughput.rps', ratio(throughput?.breakwater?.rps, throughput?.bare?.rps));
  put(ratios, 'throughput.cpuPerRequest', ratio(throughput?.breakwater?.cpuUsPerRequest.proxy, throughput?.bare?.cpuUsPerRequest.proxy));
  put(ratios, 'stream.rps', ratio(stream?.breakwater?.rps, stream?.bare?.rps));
  put(ratios, 'stream.cpuPerRequest', ratio(stream?.breakwater?.cpuUsPerRequest.proxy, stream?.bare?.cpuUsPerRequest.proxy));
  put(ratios, 'paced.cpuPerStream', ratio(paced?.breakwater?.cpuUsPerStream.proxy, paced?.bare?.cpuUsPerStream.proxy));
  return ratios;
}

function difference(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

/** Latency Breakwater adds at equal load: vs direct (the whole hop) and vs bare (the gateway's own work). */
export function computeAddedMs(results: BenchResults): Record<string, number> {
  const added: Record<string, number> = {};
  const { fixedRate, ttft, paced } = results;
  put(added, 'fixedRate.p50VsDirect', difference(fixedRate?.breakwater?.latencyMs.p50, fixedRate?.direct?.latencyMs.p50));
  put(added, 'fixedRate.p99VsDirect', difference(fixedRate?.breakwater?.latencyMs.p99, fixedRate?.direct?.latencyMs.p99));
  put(added, 'fixedRate.p99VsBare', difference(fixedRate?.breakwater?.latencyMs.p99, fixedRate?.bare?.latencyMs.p99));
  put(added, 'ttft.p50VsDirect', difference(ttft?.breakwater?.ttftMs.p50, ttft?.direct?.ttftMs.p50));
  put(added, 'ttft.p99VsDirect', difference(ttft?.breakwater?.ttftMs.p99, ttft?.direct?.ttftMs.p99));
  put(added, 'paced.ttftP50VsDirect', difference(paced?.breakwater?.ttftMs.p50, paced?.direct?.ttftMs.p50));
  put(added, 'paced.ttftP99VsDirect', difference(paced?.breakwater?.ttftMs.p99, paced?.direct?.ttftMs.p99));
  put(added, 'paced.gapP99VsDirect', difference(paced?.breakwater?.gapMs.p99, paced?.direct?.gapMs.p99));
  return added;
}

/** Compares tracked ratios to the baseline; a ratio missing on either side is skipped. */
export function compareToBaseline(ratios: Record<string, number>, baseline: Baseline): BaselineComparison {
  const comparisons: RatioComparison[] = [];
  for (const [name, direction] of Object.entries(RATIO_DIRECTION)) {
    const current = ratios[name];
    const reference = baseline.ratios[name];
    if (current === undefined || reference === undefined || !(reference > 0)) continue;
    const change = current / reference - 1;
    const regression = direction === 'higher' ? change < -REGRESSION_TOLERANCE : change > REGRESSION_TOLERANCE;
    comparisons.push({ name, baseline: reference, current, change: round(change, 3), regression });
  }
  return {
    date: baseline.date,
    gitCommit: baseline.machine.gitCommit,
    comparisons,
    regressions: comparisons.filter((c) => c.regression).map((c) => c.name),
  };
}
