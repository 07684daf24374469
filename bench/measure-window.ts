import { performance } from 'node:perf_hooks';
import type { HttpTarget } from './http-target.js';
import { cpus } from 'node:os';
import { machineBusyMicros, sampleCpu } from './process-cpu.js';

/** What one measured window of load against one target produced. */
export interface MeasuredWindow {
  elapsedS: number;
  /** Successful requests or streams. */
  ok: number;
  failures: number;
  /** CPU µs each process spent during the window (client, upstream, proxy). */
  cpuUs: Record<string, number>;
  /** CPU µs every other process on the machine spent meanwhile (noise), when known. */
  otherCpuUs?: number;
  /** Named raw samples in ms (latency, ttft, gap…). */
  samples: Record<string, Float64Array>;
  /** Named counters; summed on merge, except `max…` ones, which keep the maximum. */
  counters: Record<string, number>;
}

/** What a load client reports for one window; the timing and CPU are added around it. */
export type WindowLoad = Omit<MeasuredWindow, 'elapsedS' | 'cpuUs' | 'otherCpuUs'>;

/** Runs `load` and charges wall time and every process's CPU to it. */
export async function measureWindow(target: HttpTarget, load: () => Promise<WindowLoad>): Promise<MeasuredWindow> {
  const pids = { client: process.pid, ...target.pids };
  const before = sampleCpu(pids);
  const machineBefore = machineBusyMicros();
  const started = performance.now();
  const result = await load();
  const elapsedS = (performance.now() - started) / 1000;
  const machineAfter = machineBusyMicros();
  const after = sampleCpu(pids);
  const cpuUs: Record<string, number> = {};
  for (const name of Object.keys(pids)) {
    const start = before[name];
    const end = after[name];
    if (start !== undefined && end !== undefined) cpuUs[name] = end - start;
  }
  const ours = Object.values(cpuUs).reduce((sum, us) => sum + us, 0);
  const machine = machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore;
  return { ...result, elapsedS, cpuUs, ...(machine === undefined ? {} : { otherCpuUs: Math.max(0, machine - ours) }) };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Adds windows of the same target up, as if they were one long window. */
export function mergeWindows(windows: readonly MeasuredWindow[]): MeasuredWindow {
  const merged: MeasuredWindow = { elapsedS: 0, ok: 0, failures: 0, cpuUs: {}, samples: {}, counters: {} };
  const sampleParts: Record<string, Float64Array[]> = {};
  for (const window of windows) {
    merged.elapsedS += window.elapsedS;
    merged.ok += window.ok;
    merged.failures += window.failures;
    if (window.otherCpuUs !== undefined) merged.otherCpuUs = (merged.otherCpuUs ?? 0) + window.otherCpuUs;
    for (const [name, us] of Object.entries(window.cpuUs)) merged.cpuUs[name] = (merged.cpuUs[name] ?? 0) + us;
    for (const [name, values] of Object.entries(window.samples)) (sampleParts[name] ??= []).push(values);
    for (const [name, value] of Object.entries(window.counters)) {
      const previous = merged.counters[name] ?? 0;
      merged.counters[name] = name.startsWith('max') ? Math.max(previous, value) : previous + value;
    }
  }
  for (const [name, parts] of Object.entries(sampleParts)) merged.samples[name] = concat(parts);
  return merged;
}

/** CPU µs per successful request of each process. */
export function cpuPerSuccess(window: MeasuredWindow): Record<string, number> {
  const perRequest: Record<string, number> = {};
  if (window.ok <= 0) return perRequest;
  for (const [name, us] of Object.entries(window.cpuUs)) perRequest[name] = us / window.ok;
  return perRequest;
}

/** Share (0..1) of the machine's total CPU capacity that unrelated processes used during the windows. */
export function otherCpuShare(window: MeasuredWindow): number | undefined {
  if (window.otherCpuUs === undefined || window.elapsedS <= 0) return undefined;
  return window.otherCpuUs / (window.elapsedS * 1_000_000 * cpus().length);
}

/** A 0..1 share as a percentage with one decimal. */
export function percent(share: number | undefined): number | undefined {
  return share === undefined ? undefined : Math.round(share * 1000) / 10;
}
