// `npm run bench:streams`: N concurrent long streams held by one Breakwater process (SPEC PERF-2,
// PERF-4): gateway RSS and CPU, and time to first token through Breakwater vs directly against
// the same slow sim upstream, side by side in one run. Every process is a child of this one.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT, runHarness, spawnBenchChild, waitReady, type BenchChild } from './bench-child.js';
import { formatNumber, formatTable } from './bench-report.js';
import { startBreakwater } from './breakwater-child.js';
import { completionBody } from './http-target.js';
import { machineFacts, type MachineFacts } from './machine-facts.js';
import { machineBusyMicros, processCpuMicros } from './process-cpu.js';
import { round, type LatencySummary } from './stats.js';
import type { StreamsClientResult, StreamsJob } from './streams-client.js';
import { parseStreamsOptions, STREAMS_USAGE, type StreamsOptions } from './streams-options.js';

const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
const MODEL = 'bench-slow';
const startedAt = performance.now();

function progress(message: string): void {
  process.stderr.write(`[bench:streams ${((performance.now() - startedAt) / 1000).toFixed(1).padStart(5)} s] ${message}\n`);
}

/** One target at one N. */
interface PhaseResult {
  target: 'direct' | 'bare' | 'breakwater';
  streams: number;
  ok: number;
  failures: number;
  errors: string[];
  maxOpen: number;
  ttftMs: LatencySummary;
  elapsedS: number;
  /** The proxy's (Breakwater's or the bare proxy's) RSS before the phase and its peak during it, MiB. */
  gatewayRssIdleMiB?: number;
  gatewayRssPeakMiB?: number;
  /** The proxy's CPU over the phase: seconds, and average share of one core. */
  gatewayCpuS?: number;
  gatewayCpuPercent?: number;
  upstreamCpuS: number;
  clientCpuS: number;
  /** Share of the machine's CPU others used meanwhile. */
  otherCpuPercent: number | undefined;
  loadAverage1m: number;
}

interface StreamsResults {
  schema: 1;
  date: string;
  command: string;
  machine: MachineFacts;
  options: StreamsOptions;
  phases: PhaseResult[];
  /** Per N: Breakwater TTFT minus direct TTFT, ms. */
  addedTtftMs: Record<string, { p50: number; p99: number }>;
  /** Per N: the bare pass-through proxy's TTFT minus direct, ms: what any Node proxy adds here. */
  bareAddedTtftMs: Record<string, { p50: number; p99: number }>;
}

/** Open files each process may need: a socket per stream each way, plus slack. */
function ensureFileLimit(options: StreamsOptions): void {
  const needed = 2 * Math.max(...options.counts) + 1024;
  const limits = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+|unlimited)/m);
  const soft = limits?.[1] === 'unlimited' ? Infinity : Number(limits?.[1] ?? 1024);
  if (soft >= needed) return;
  if (process.env.BENCH_STREAMS_RAISED === '1') throw new Error(`the open-file limit is ${soft}, ${needed} needed; run \`ulimit -n ${needed}\` (as root or after raising the hard limit) first`);
  progress(`raising the open-file limit from ${soft} to ${needed} (ulimit -n) and restarting`);
  const args = [...process.execArgv, ...process.argv.slice(1)];
  // A process cannot raise its own limit from Node; a shell can, then becomes this benchmark again.
  const run = spawnSync('sh', ['-c', `ulimit -n ${needed} && exec "$0" "$@"`, process.execPath, ...args], { stdio: 'inherit', env: { ...process.env, BENCH_STREAMS_RAISED: '1' } });
  process.exit(run.status ?? 1);
}

function rssMiB(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

function cpuS(pid: number): number {
  return (processCpuMicros(pid) ?? 0) / 1e6;
}

function gatewayYaml(simUrl: string, maxStreams: number): string {
  // One pooled upstream connection per stream: the 128 default would queue streams past it.
  return `providers:
  bench: { kind: openai-compatible, baseUrl: "${simUrl}/v1", apiKey: x, maxConnections: ${maxStreams + 64} }
models:
  ${MODEL}: bench/sim-slow
`;
}

async function runPhase(target: PhaseResult['target'], url: string, headers: Record<string, string>, model: string, n: number, options: StreamsOptions, pids: { proxy: number; upstream: number }): Promise<PhaseResult> {
  const rampMs = (n / options.openPerS) * 1000;
  const job: StreamsJob = { url, headers: { 'content-type': 'application/json', ...headers }, body: completionBody(model, true, options.maxTokens), streams: n, rampMs, timeoutMs: 120_000 };
  const client = spawnBenchChild({ name: `client ${target} ×${n}`, args: ['--import', 'tsx', 'bench/streams-client.ts', JSON.stringify(job)], keepStdin: true, readyTimeoutMs: 60_000 });
  const result = resultLine(client);
  await waitReady(client);
  const before = { proxy: cpuS(pids.proxy), upstream: cpuS(pids.upstream), machine: machineBusyMicros() };
  const rssIdle = rssMiB(pids.proxy);
  let rssPeak = rssIdle ?? 0;
  let clientCpu = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, rssMiB(pids.proxy) ?? 0);
    clientCpu = Math.max(clientCpu, cpuS(client.pid));
  }, 100);
  const started = performance.now();
  let outcome: StreamsClientResult;
  try {
    outcome = await result;
  } finally {
    clearInterval(sampler);
  }
  const wallS = (performance.now() - started) / 1000;
  const proxyCpu = cpuS(pids.proxy) - before.proxy;
  const upstreamCpu = cpuS(pids.upstream) - before.upstream;
  const machine = machineBusyMicros();
  const others = before.machine === undefined || machine === undefined ? undefined : (machine - before.machine) / 1e6 - proxyCpu - upstreamCpu - clientCpu;
  await client.stop();
  const common = {
    target,
    streams: n,
    ok: outcome.ok,
    failures: outcome.failures,
    errors: outcome.errors,
    maxOpen: outcome.maxOpen,
    ttftMs: outcome.ttftMs,
    elapsedS: round(outcome.elapsedS, 2),
    upstreamCpuS: round(upstreamCpu, 2),
    clientCpuS: round(clientCpu, 2),
    otherCpuPercent: others === undefined ? undefined : round((100 * Math.max(0, others)) / (wallS * cpus().length), 1),
    loadAverage1m: machineFacts(REPO_ROOT).loadAverage1m,
  };
  if (target === 'direct') return common;
  return { ...common, gatewayRssIdleMiB: round(rssIdle ?? 0, 1), gatewayRssPeakMiB: round(rssPeak, 1), gatewayCpuS: round(proxyCpu, 2), gatewayCpuPercent: round((100 * proxyCpu) / wallS, 1) };
}

function addedTtft(through: PhaseResult, direct: PhaseResult): { p50: number; p99: number } {
  return { p50: round(through.ttftMs.p50 - direct.ttftMs.p50, 2), p99: round(through.ttftMs.p99 - direct.ttftMs.p99, 2) };
}

/** The client's `{"event":"result"}` line. */
function resultLine(child: BenchChild): Promise<StreamsClientResult> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.process.stdout!.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => l.startsWith('{"event":"result"'));
      if (line) resolve(JSON.parse(line) as StreamsClientResult);
    });
    child.process.once('exit', (code) => reject(new Error(`${child.name} exited (code ${code}) without a result`)));
  });
}

function report(results: StreamsResults): string {
  const header = ['N', 'target', 'ok', 'failed', 'max open', 'TTFT p50 ms', 'p99 ms', 'added p50', 'added p99', 'proxy RSS peak MiB', 'proxy CPU s', 'proxy CPU %', 'other CPU %'];
  const rows = results.phases.map((p) => {
    const added = p.target === 'breakwater' ? results.addedTtftMs[String(p.streams)] : p.target === 'bare' ? results.bareAddedTtftMs[String(p.streams)] : undefined;
    return [
      formatNumber(p.streams),
      p.target,
      formatNumber(p.ok),
      formatNumber(p.failures),
      formatNumber(p.maxOpen),
      formatNumber(p.ttftMs.p50, 1),
      formatNumber(p.ttftMs.p99, 1),
      formatNumber(added?.p50, 2),
      formatNumber(added?.p99, 2),
      formatNumber(p.gatewayRssPeakMiB, 1),
      formatNumber(p.gatewayCpuS, 2),
      formatNumber(p.gatewayCpuPercent, 1),
      formatNumber(p.otherCpuPercent, 1),
    ];
  });
  return formatTable(header, rows) + '\n';
}

async function benchmark(options: StreamsOptions, argv: readonly string[], tmp: string): Promise<void> {
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const results: StreamsResults = { schema: 1, date: new Date().toISOString(), command: `npm run bench:streams${argv.length ? ` -- ${argv.join(' ')}` : ''}`, machine: machineFacts(REPO_ROOT), options, phases: [], addedTtftMs: {}, bareAddedTtftMs: {} };
  progress(`${results.command}: N = ${options.counts.join(', ')}, sim-slow at timeScale ${options.timeScale}, ${options.maxTokens} tokens, load ${results.machine.loadAverage1m}`);
  const upstream = spawnBenchChild({ name: 'sim upstream', args: ['--import', 'tsx', 'bench/upstream.ts'], env: { ...process.env, BENCH_SIM_TIME_SCALE: String(options.timeScale) }, keepStdin: true });
  const simUrl = String((await waitReady(upstream)).url);
  const configPath = join(tmp, 'breakwater.yaml');
  writeFileSync(configPath, gatewayYaml(simUrl, Math.max(...options.counts)));
  mkdirSync(join(tmp, 'data'));
  const gateway = await startBreakwater({ dataDir: join(tmp, 'data'), configPath, stdoutFile: process.env.BENCH_GATEWAY_LOG ?? join(tmp, 'breakwater.log'), nodeFlags: options.gatewayNodeFlags });
  const bare = spawnBenchChild({ name: 'bare proxy', args: ['--import', 'tsx', 'bench/bare-proxy.ts', simUrl, String(Math.max(...options.counts) + 64)], keepStdin: true });
  const bareUrl = String((await waitReady(bare)).url);
  const pids = { proxy: gateway.child.pid, upstream: upstream.pid };
  const barePids = { proxy: bare.pid, upstream: upstream.pid };
  try {
    // Both proxies get the same warm-up (JIT, pooled upstream connections): a cold one would pay
    // for it in the first streams' TTFT.
    progress('warm-up: 200 short streams through Breakwater, then through the bare proxy');
    await runPhase('breakwater', gateway.url, { authorization: `Bearer ${gateway.virtualKey}` }, MODEL, 200, { ...options, maxTokens: 5 }, pids);
    await runPhase('bare', bareUrl, {}, 'sim-slow', 200, { ...options, maxTokens: 5 }, barePids);
    for (const n of options.counts) {
      progress(`N = ${n}: direct (ramp ${(n / options.openPerS).toFixed(1)} s)`);
      const direct = await runPhase('direct', simUrl, {}, 'sim-slow', n, options, pids);
      progress(`N = ${n}: through the bare proxy`);
      const passed = await runPhase('bare', bareUrl, {}, 'sim-slow', n, options, barePids);
      progress(`N = ${n}: through Breakwater`);
      const through = await runPhase('breakwater', gateway.url, { authorization: `Bearer ${gateway.virtualKey}` }, MODEL, n, options, pids);
      results.phases.push(direct, passed, through);
      results.addedTtftMs[String(n)] = addedTtft(through, direct);
      results.bareAddedTtftMs[String(n)] = addedTtft(passed, direct);
      for (const phase of [direct, passed, through]) if (phase.errors.length) progress(`${phase.target} ×${n}: ${phase.failures} failed, e.g. ${phase.errors[0]}`);
    }
  } finally {
    await Promise.all([gateway.child.stop(), bare.stop(), upstream.stop()]);
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  const path = join(RESULTS_DIR, `streams-${results.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, json);
  writeFileSync(join(RESULTS_DIR, 'streams-latest.json'), json);
  process.stdout.write('\n' + report(results));
  progress(`wrote ${path} and bench/results/streams-latest.json`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(STREAMS_USAGE);
    return;
  }
  const options = parseStreamsOptions(argv);
  ensureFileLimit(options);
  await runHarness('breakwater-bench-streams-', progress, (tmp) => benchmark(options, argv, tmp));
}

await main();
