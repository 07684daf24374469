import { formatComponentCosts } from './component-costs.js';
import type { BenchResults, ByTarget } from './bench-results.js';
import type { FirstEventResult, StartSummary } from './cold-start.js';
import type { FirstEventSummary } from './first-event.js';
import type { WorkersResult } from './workers-phase.js';
import type { StreamsSummary } from './streams-phase.js';
import type { FixedRateResult } from './fixed-rate-run.js';
import type { HttpTarget } from './http-target.js';
import type { StreamResult } from './stream-run.js';
import type { ThroughputResult } from './throughput-run.js';

const TARGETS: readonly HttpTarget['name'][] = ['direct', 'bare', 'breakwater'];

/** A number for the table: fixed digits with thousands separators, "-" when unknown. */
export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatPercent(value: number | undefined): string {
  return value === undefined ? '-' : `${formatNumber(value, 1)} %`;
}

/** Aligned text: first column left, the others right. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function rowsFor<T>(byTarget: ByTarget<T>, row: (name: string, result: T) => string[]): string[][] {
  return TARGETS.flatMap((name) => (byTarget[name] ? [row(name, byTarget[name]!)] : []));
}

function throughputTable(title: string, byTarget: ByTarget<ThroughputResult>): string {
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'CPU µs/req proxy', 'upstream', 'client', 'other CPU'];
  const rows = rowsFor(byTarget, (name, r) => [
    name,
    formatNumber(r.rps),
    formatNumber(r.latencyMs.p50, 2),
    formatNumber(r.latencyMs.p99, 2),
    formatNumber(r.failures),
    formatNumber(r.cpuUsPerRequest.proxy),
    formatNumber(r.cpuUsPerRequest.upstream),
    formatNumber(r.cpuUsPerRequest.client),
    formatPercent(r.otherCpuPercent),
  ]);
  return `${title}\n${formatTable(header, rows)}`;
}

function fixedRateTable(title: string, byTarget: ByTarget<FixedRateResult>): string {
  const header = ['target', 'done/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max in flight', 'shed', 'failed', 'CPU µs/req proxy', 'other CPU'];
  const rows = rowsFor(byTarget, (name, r) => [
    name,
    formatNumber(r.achievedRps),
    formatNumber(r.latencyMs.p50, 2),
    formatNumber(r.latencyMs.p90, 2),
    formatNumber(r.latencyMs.p99, 2),
    formatNumber(r.maxInFlight),
    formatNumber(r.shed),
    formatNumber(r.failures),
    formatNumber(r.cpuUsPerRequest.proxy),
    formatPercent(r.otherCpuPercent),
  ]);
  return `${title}\n${formatTable(header, rows)}`;
}

function streamTable(title: string, byTarget: ByTarget<StreamResult>, withGaps: boolean): string {
  const header = ['target', 'streams/s', '1st data: p50', 'TTFT p50', 'TTFT p99', ...(withGaps ? ['gap p50', 'gap p99'] : []), 'events', 'failed', 'CPU µs/stream proxy', 'other CPU'];
  const rows = rowsFor(byTarget, (name, r) => [
    name,
    formatNumber(r.streamsPerS),
    formatNumber(r.firstDataMs.p50, 2),
    formatNumber(r.ttftMs.p50, 2),
    formatNumber(r.ttftMs.p99, 2),
    ...(withGaps ? [formatNumber(r.gapMs.p50, 2), formatNumber(r.gapMs.p99, 2)] : []),
    formatNumber(r.eventsPerStream, 1),
    formatNumber(r.failures),
    formatNumber(r.cpuUsPerStream.proxy),
    formatPercent(r.otherCpuPercent),
  ]);
  return `${title} (ms)\n${formatTable(header, rows)}`;
}

function coldStartTable(results: BenchResults): string {
  const header = ['start', 'runs', 'ready line', '/readyz 200', 'first proxied 200', 'self-reported', 'max ready line', 'max first 200'];
  const row = (name: string, s: StartSummary) => [
    name,
    formatNumber(s.runs),
    formatNumber(s.readyLineMs, 1),
    formatNumber(s.readyzMs, 1),
    formatNumber(s.firstProxiedMs, 1),
    formatNumber(s.selfReportedMs, 1),
    formatNumber(s.maxReadyLineMs, 1),
    formatNumber(s.maxFirstProxiedMs, 1),
  ];
  const cold = results.coldStart!;
  return `Cold start, medians (and maxima) in ms from spawn (fresh = new data dir: creates SQLite and keys)\n${formatTable(header, [row('fresh', cold.fresh), row('restart', cold.restart)])}`;
}

/** Labels of the first-event probes, in the order they run. */
const FIRST_EVENT_PROBES: readonly [keyof FirstEventResult, string][] = [
  ['responses', 'streamed /v1/responses, sim-smart'],
  ['responsesInstantUpstream', 'streamed /v1/responses, instant upstream'],
  ['run', 'POST /v1/runs, then events_url'],
];

function firstEventTable(firstEvent: FirstEventResult): string {
  const header = ['request', 'runs', 'first event', 'median', 'max', 'POST 202 median', 'max 202'];
  const row = (name: string, s: FirstEventSummary) => [
    name,
    formatNumber(s.runs),
    s.event,
    formatNumber(s.firstEventMs, 1),
    formatNumber(s.maxFirstEventMs, 1),
    formatNumber(s.acceptedMs, 1),
    formatNumber(s.maxAcceptedMs, 1),
  ];
  const rows = FIRST_EVENT_PROBES.map(([key, name]) => row(name, firstEvent[key]));
  return `First event after a cold start (SPEC CS-5), ms from sending the request: each the first request of its own fresh process, after /readyz\n${formatTable(header, rows)}`;
}

/** All the gateway's processes together: the cluster primary and its workers. */
export function gatewayCpuPerRequest(result: ThroughputResult): number {
  let sum = 0;
  for (const [name, us] of Object.entries(result.cpuUsPerRequest)) if (name === 'proxy' || name.startsWith('worker')) sum += us;
  return sum;
}

function workersTable(title: string, workers: WorkersResult): string {
  const header = ['target', 'req/s', '× bare', 'p50', 'p99', 'failed', 'CPU µs/req gateway', 'other CPU'];
  const rows = [
    ['bare', formatNumber(workers.bare.rps), '1.00', formatNumber(workers.bare.latencyMs.p50, 2), formatNumber(workers.bare.latencyMs.p99, 2), formatNumber(workers.bare.failures), formatNumber(workers.bare.cpuUsPerRequest.proxy), formatPercent(workers.bare.otherCpuPercent)],
    ...Object.entries(workers.breakwater).map(([count, r]) => [
      `--workers ${count}`,
      formatNumber(r.rps),
      formatNumber(r.rps / workers.bare.rps, 2),
      formatNumber(r.latencyMs.p50, 2),
      formatNumber(r.latencyMs.p99, 2),
      formatNumber(r.failures),
      formatNumber(gatewayCpuPerRequest(r)),
      formatPercent(r.otherCpuPercent),
    ]),
  ];
  return `${title}\n${formatTable(header, rows)}`;
}

function longStreamsTable(streams: StreamsSummary): string {
  const row = [
    formatNumber(streams.streams),
    formatNumber(streams.ok),
    formatNumber(streams.gatewayRssIdleMiB, 0),
    formatNumber(streams.gatewayRssPeakMiB, 0),
    formatNumber(streams.gatewayCpuPercent, 1),
    formatNumber(streams.addedTtftMs.p50, 2),
    formatNumber(streams.addedTtftMs.p99, 2),
    formatNumber(streams.bareAddedTtftMs?.p99, 2),
    formatPercent(streams.otherCpuPercent),
  ];
  const header = ['streams', 'ok', 'gw RSS idle MiB', 'peak MiB', 'gw CPU %', 'added TTFT p50 ms', 'p99 ms', 'bare proxy p99 ms', 'other CPU'];
  return `Concurrent long streams on one gateway (bench/streams.ts: slow sim, direct vs through the bare proxy and Breakwater)\n${formatTable(header, [row])}`;
}

function verdict(value: number | undefined, limit: number, direction: 'max' | 'min'): string {
  if (value === undefined) return '-';
  return (direction === 'max' ? value <= limit : value >= limit) ? 'meets' : 'MISSES';
}

function targetsTable(results: BenchResults): string {
  const { ratios, addedMs, coldStart, options } = results;
  const rows: string[][] = [];
  const add = (name: string, value: number | undefined, unit: string, limit: number, direction: 'max' | 'min', digits = 2) => {
    if (value !== undefined) rows.push([name, `${formatNumber(value, digits)}${unit}`, `${direction === 'max' ? '≤' : '≥'} ${limit}${unit}`, verdict(value, limit, direction)]);
  };
  add('PERF-1 throughput breakwater/bare', ratios['throughput.rps'], '×', 0.8, 'min');
  add(`PERF-1 added p99 at ${results.fixedRate?.breakwater?.rate ?? options.rate} req/s (vs direct)`, addedMs['fixedRate.p99VsDirect'], ' ms', 1, 'max');
  add(`PERF-2 added TTFT p99, ${options.streams} paced streams`, addedMs['paced.ttftP99VsDirect'], ' ms', 1, 'max');
  add('PERF-2 added gap p99, paced streams', addedMs['paced.gapP99VsDirect'], ' ms', 0.5, 'max');
  const streams = results.streams;
  if (streams) {
    add(`PERF-2 added TTFT p99, ${formatNumber(streams.streams)} long streams`, streams.addedTtftMs.p99, ' ms', 5, 'max');
    add(`gateway RSS at ${formatNumber(streams.streams)} long streams (PERF-4: ≤ 500 MB at 5,000)`, streams.gatewayRssPeakMiB, ' MiB', 500, 'max', 0);
  }
  add('PERF-3 spawn → ready line (restart)', coldStart?.restart.readyLineMs, ' ms', 150, 'max', 1);
  add('PERF-3 spawn → first 200 (restart)', coldStart?.restart.firstProxiedMs, ' ms', 250, 'max', 1);
  add('PERF-3 spawn → ready line (fresh)', coldStart?.fresh.readyLineMs, ' ms', 150, 'max', 1);
  add('PERF-3 spawn → first 200 (fresh)', coldStart?.fresh.firstProxiedMs, ' ms', 250, 'max', 1);
  // "Within 200 ms of receipt, even cold" bounds every request, so the slowest cold start counts.
  const firstEvent = coldStart?.firstEvent;
  add(`CS-5 first event ≤ 200 ms: streamed /v1/responses (max of ${firstEvent?.responses.runs})`, firstEvent?.responses.maxFirstEventMs, ' ms', 200, 'max', 1);
  add(`CS-5 first event ≤ 200 ms: run.created (max of ${firstEvent?.run.runs})`, firstEvent?.run.maxFirstEventMs, ' ms', 200, 'max', 1);
  const info = (name: string, value: number | undefined, unit: string) => {
    if (value !== undefined) rows.push([name, `${formatNumber(value, 2)}${unit}`, '', '']);
  };
  info('stream throughput breakwater/bare', ratios['stream.rps'], '×');
  info('CPU/request breakwater/bare (non-stream)', ratios['throughput.cpuPerRequest'], '×');
  info('CPU/request breakwater/bare (stream)', ratios['stream.cpuPerRequest'], '×');
  info('CPU/stream breakwater/bare (paced)', ratios['paced.cpuPerStream'], '×');
  info('added TTFT p99 at saturation (vs direct)', addedMs['ttft.p99VsDirect'], ' ms');
  return `Targets (SPEC M12)\n${formatTable(['figure', 'measured', 'target', ''], rows)}`;
}

function baselineTable(results: BenchResults): string {
  const comparison = results.baseline!;
  const rows = comparison.comparisons.map((c) => [c.name, formatNumber(c.baseline, 3), formatNumber(c.current, 3), `${c.change >= 0 ? '+' : ''}${formatNumber(c.change * 100, 1)}%`, c.regression ? 'REGRESSION' : 'ok']);
  return `Against baseline of ${comparison.date} (${comparison.gitCommit.slice(0, 10)})\n${formatTable(['ratio', 'baseline', 'now', 'change', ''], rows)}`;
}

/** Above this share of the machine used by unrelated processes, a run is flagged as noisy. */
export const NOISY_PERCENT = 10;

/** The largest "other CPU" share of any phase and target. */
export function maxOtherCpuPercent(results: BenchResults): number | undefined {
  const all = [results.throughput, results.stream, results.fixedRate, results.ttft, results.paced].flatMap((byTarget) =>
    Object.values(byTarget ?? {}).map((r) => r.otherCpuPercent),
  );
  const known = all.filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

/** The whole run as aligned text tables. */
export function formatReport(results: BenchResults): string {
  const { options, machine } = results;
  const rounds = options.rounds > 1 ? ` in ${options.rounds} alternating rounds` : '';
  const window = `${options.durationS} s${rounds} after ${options.warmupS} s warm-up`;
  const sections = [
    `Breakwater benchmark ${results.date} — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${machine.gitCommit.slice(0, 10)}${machine.gitDirty ? ' (dirty)' : ''}, load ${machine.loadAverage1m}`,
  ];
  const noisiest = maxOtherCpuPercent(results);
  if (noisiest !== undefined && noisiest > NOISY_PERCENT) {
    sections[0] += `\nWARNING: unrelated processes used up to ${formatNumber(noisiest, 1)} % of the machine's CPU during a measurement ("other CPU"): figures are skewed`;
  }
  if (results.throughput) sections.push(throughputTable(`Non-streaming, ${options.connections} connections, ${window}`, results.throughput));
  if (results.stream) sections.push(throughputTable(`Streaming, ${options.connections} connections, ${window}`, results.stream));
  if (results.fixedRate) {
    const rate = results.fixedRate.breakwater?.rate ?? options.rate;
    const lowered = rate < options.rate ? ` (lowered from ${options.rate}: half the slowest target's throughput)` : '';
    sections.push(fixedRateTable(`Non-streaming at a fixed ${rate} req/s${lowered}, open loop, ${window}`, results.fixedRate));
  }
  if (results.ttft) sections.push(streamTable(`${options.streams} concurrent streams back to back, instant upstream (saturation)`, results.ttft, false));
  if (results.paced) sections.push(streamTable(`${options.streams} concurrent streams, sim-fast timing (150 ms TTFT, 120 tok/s)`, results.paced, true));
  if (results.workers) sections.push(workersTable(`Non-streaming with --workers (shared Redis), ${options.connections} connections, ${window}`, results.workers));
  if (results.streams) sections.push(longStreamsTable(results.streams));
  if (results.coldStart) sections.push(coldStartTable(results), firstEventTable(results.coldStart.firstEvent));
  if (results.components) sections.push(formatComponentCosts(results.components));
  sections.push(targetsTable(results));
  if (results.baseline?.comparisons.length) sections.push(baselineTable(results));
  return sections.join('\n\n') + '\n';
}
