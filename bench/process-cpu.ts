import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * User + system CPU time of a whole process (all threads: GC, libuv pool) in microseconds, read
 * from /proc so the measured process needs no cooperation. Resolution is one clock tick (10 ms),
 * fine over a multi-second run; undefined where /proc is missing (macOS).
 */
export function processCpuMicros(pid: number): number | undefined {
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses; fields are positional after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1_000_000) / clockTicksPerSecond() : undefined;
}

/** Named processes whose CPU is sampled before and after a measured window. */
export type CpuProbe = Record<string, number>;

/** Reads the CPU counters of each named process now. */
export function sampleCpu(pids: CpuProbe): Record<string, number | undefined> {
  const sample: Record<string, number | undefined> = {};
  for (const [name, pid] of Object.entries(pids)) sample[name] = processCpuMicros(pid);
  return sample;
}

/**
 * CPU µs the whole machine spent busy (user, nice, system, irq, softirq, steal) from /proc/stat,
 * all cores together; undefined where /proc is missing. Minus the benchmark's own processes, it
 * tells how much unrelated work competed with a measurement.
 */
export function machineBusyMicros(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const busy = fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]! + (fields[7] ?? 0);
  return Number.isFinite(busy) ? (busy * 1_000_000) / clockTicksPerSecond() : undefined;
}
