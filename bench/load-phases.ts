import type { TargetSet } from './bench-environment.js';
import type { BenchOptions } from './bench-options.js';
import { formatNumber } from './bench-report.js';
import type { BenchResults, ByTarget } from './bench-results.js';
import { fixedRateResult, measureFixedRate } from './fixed-rate-run.js';
import { completionBody, type HttpTarget } from './http-target.js';
import { mergeWindows, type MeasuredWindow } from './measure-window.js';
import { measureStreams, streamResult } from './stream-run.js';
import { measureThroughput, throughputResult, type ThroughputResult } from './throughput-run.js';

/** Where progress lines go. */
export type Progress = (message: string) => void;

/** Warm-up and length of one measured window. */
interface WindowShape {
  warmupS: number;
  durationS: number;
}

/** One phase: how to measure a window against a target, summarize its windows, and say it in one line. */
interface Phase<R> {
  label: string;
  measure(target: HttpTarget, shape: WindowShape): Promise<MeasuredWindow>;
  summarize(target: HttpTarget, merged: MeasuredWindow): R;
  describe(result: R): string;
}

/**
 * Measures every target in `rounds` rounds, alternating the order (direct, bare, breakwater, then
 * reversed), so a burst of unrelated load on a shared machine spreads over all targets instead of
 * skewing one; each target's windows are then merged. Later rounds warm up briefly (JIT is warm).
 */
async function inRounds<R>(set: TargetSet, options: BenchOptions, phase: Phase<R>, progress: Progress): Promise<ByTarget<R>> {
  const targets = [set.direct, set.bare, set.breakwater];
  const windows = new Map<HttpTarget['name'], MeasuredWindow[]>(targets.map((t) => [t.name, []]));
  const durationS = options.durationS / options.rounds;
  progress(`${phase.label}: 3 targets × ${options.rounds} round(s) × ${formatNumber(durationS, 1)} s`);
  for (let round = 0; round < options.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    const warmupS = round === 0 ? options.warmupS : Math.min(options.warmupS, 0.5);
    for (const target of order) windows.get(target.name)!.push(await phase.measure(target, { warmupS, durationS }));
  }
  const byTarget: ByTarget<R> = {};
  for (const target of targets) {
    const result = phase.summarize(target, mergeWindows(windows.get(target.name)!));
    byTarget[target.name] = result;
    progress(`${phase.label} · ${target.name.padEnd(10)} ${phase.describe(result)}`);
  }
  return byTarget;
}

/**
 * Latency at a fixed rate only means something below saturation: on a box where some target
 * cannot do twice the asked rate, measure at half the slowest target's throughput instead.
 */
function sustainableRate(asked: number, throughput: ByTarget<ThroughputResult> | undefined): number {
  const slowest = Math.min(...Object.values(throughput ?? {}).map((r) => r.rps));
  return Number.isFinite(slowest) && slowest / 2 < asked ? Math.max(1, Math.floor(slowest / 2)) : asked;
}

const describeRps = (r: ThroughputResult) => `${formatNumber(r.rps)} req/s, p99 ${formatNumber(r.latencyMs.p99, 2)} ms`;

function throughputPhase(label: string, stream: boolean, options: BenchOptions): Phase<ThroughputResult> {
  return {
    label,
    measure: (t, shape) => measureThroughput(t, completionBody(t.model, stream, options.maxTokens), { connections: options.connections, ...shape }),
    summarize: (t, merged) => throughputResult(t, stream, options.connections, merged),
    describe: describeRps,
  };
}

function streamPhase(label: string, options: BenchOptions) {
  return {
    label,
    measure: (t: HttpTarget, shape: WindowShape) => measureStreams(t, completionBody(t.model, true, options.maxTokens), { concurrency: options.streams, ...shape }),
    summarize: (t: HttpTarget, merged: MeasuredWindow) => streamResult(t, options.streams, merged),
    describe: (r: ReturnType<typeof streamResult>) =>
      `${formatNumber(r.streamsPerS)} streams/s, TTFT p50 ${formatNumber(r.ttftMs.p50, 2)} ms, p99 ${formatNumber(r.ttftMs.p99, 2)} ms`,
  };
}

/** Runs the load phases asked for, filling `results`. */
export async function runLoadPhases(env: { instant: TargetSet; paced?: TargetSet }, options: BenchOptions, results: BenchResults, progress: Progress): Promise<void> {
  const { phases } = options;
  if (phases.includes('throughput')) results.throughput = await inRounds(env.instant, options, throughputPhase('non-stream', false, options), progress);
  if (phases.includes('stream')) results.stream = await inRounds(env.instant, options, throughputPhase('stream', true, options), progress);
  if (phases.includes('rate')) {
    const rate = sustainableRate(options.rate, results.throughput);
    results.fixedRate = await inRounds(env.instant, options, {
      label: `${rate} req/s`,
      measure: (t, shape) => measureFixedRate(t, completionBody(t.model, false, options.maxTokens), { rate, ...shape }),
      summarize: (t, merged) => fixedRateResult(t, rate, merged),
      describe: (r) => `${formatNumber(r.achievedRps)} done/s, p50 ${formatNumber(r.latencyMs.p50, 2)} ms, p99 ${formatNumber(r.latencyMs.p99, 2)} ms`,
    }, progress);
  }
  if (phases.includes('ttft')) results.ttft = await inRounds(env.instant, options, streamPhase('ttft', options), progress);
  if (phases.includes('paced') && env.paced) results.paced = await inRounds(env.paced, options, streamPhase('paced', options), progress);
}
