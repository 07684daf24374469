// The `streams` phase of `npm run bench` (issue 11: RSS under 1,000 concurrent streams): runs
// `bench/streams.ts` for one N in its own process tree, so its thousands of sockets and its own
// direct / bare proxy / Breakwater comparison stay apart from the other phases, and keeps its summary.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './bench-child.js';

/** What the main report keeps of a `bench:streams` run at one N. */
export interface StreamsSummary {
  streams: number;
  /** Streams that ended well through Breakwater. */
  ok: number;
  gatewayRssIdleMiB: number | undefined;
  gatewayRssPeakMiB: number | undefined;
  gatewayCpuPercent: number | undefined;
  /** Breakwater's TTFT minus direct TTFT against the same slow sim upstream, ms. */
  addedTtftMs: { p50: number; p99: number };
  /** The same for the bare pass-through proxy: what the cheapest Node proxy adds on this machine. */
  bareAddedTtftMs: { p50: number; p99: number } | undefined;
  otherCpuPercent: number | undefined;
}

interface StreamsLatest {
  phases: Array<{ target: string; streams: number; ok: number; gatewayRssIdleMiB?: number; gatewayRssPeakMiB?: number; gatewayCpuPercent?: number; otherCpuPercent?: number }>;
  addedTtftMs: Record<string, { p50: number; p99: number }>;
  bareAddedTtftMs?: Record<string, { p50: number; p99: number }>;
}

/** Runs `npm run bench:streams -- --n <n>` (its progress lines pass through) and summarises it. */
export function measureStreams(n: number): StreamsSummary {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/streams.ts', '--n', String(n)], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) throw new Error(`bench/streams.ts --n ${n} failed (exit ${run.status ?? run.signal})`);
  const latest = JSON.parse(readFileSync(join(REPO_ROOT, 'bench', 'results', 'streams-latest.json'), 'utf8')) as StreamsLatest;
  const through = latest.phases.find((phase) => phase.target === 'breakwater' && phase.streams === n);
  const added = latest.addedTtftMs[String(n)];
  if (!through || !added) throw new Error(`bench/streams.ts --n ${n} wrote no result for N = ${n}`);
  return {
    streams: n,
    ok: through.ok,
    gatewayRssIdleMiB: through.gatewayRssIdleMiB,
    gatewayRssPeakMiB: through.gatewayRssPeakMiB,
    gatewayCpuPercent: through.gatewayCpuPercent,
    addedTtftMs: added,
    bareAddedTtftMs: latest.bareAddedTtftMs?.[String(n)],
    otherCpuPercent: through.otherCpuPercent,
  };
}
