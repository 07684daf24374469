// `npm run bench`: Breakwater against a direct call and a bare Node proxy, side by side, on
// 127.0.0.1 (SPEC M12). Every process is a child of this one and dies with it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT, runHarness } from './bench-child.js';
import { startBenchEnvironment } from './bench-environment.js';
import { BENCH_USAGE, parseBenchOptions, type BenchOptions } from './bench-options.js';
import { formatNumber, formatReport } from './bench-report.js';
import { compareToBaseline, computeAddedMs, computeRatios, type Baseline, type BenchResults } from './bench-results.js';
import { BREAKWATER_CLI } from './breakwater-child.js';
import { measureColdStart } from './cold-start.js';
import { runLoadPhases } from './load-phases.js';
import { measureStreams } from './streams-phase.js';
import { measureComponentCosts } from './component-costs.js';
import { machineFacts } from './machine-facts.js';
import { measureWorkers } from './workers-phase.js';

const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
const BASELINE_PATH = join(RESULTS_DIR, 'baseline.json');

const startedAt = performance.now();

function progress(message: string): void {
  const elapsed = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(5);
  process.stderr.write(`[bench ${elapsed} s] ${message}\n`);
}

function ensureBuild(): void {
  try {
    execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
  } catch (error) {
    const cli = join(REPO_ROOT, BREAKWATER_CLI);
    if (process.env.BENCH_ALLOW_BUILD_ERRORS === '1' && existsSync(cli)) {
      progress(`build reported errors; BENCH_ALLOW_BUILD_ERRORS=1, so measuring the emitted ${BREAKWATER_CLI} anyway`);
      return;
    }
    throw new Error(`the build failed, so there is no trustworthy ${BREAKWATER_CLI} to measure (BENCH_ALLOW_BUILD_ERRORS=1 measures what tsc emitted anyway)`, { cause: error });
  }
}

function commandLine(argv: readonly string[]): string {
  const variables = Object.entries(process.env).filter(([name]) => name.startsWith('BENCH_')).map(([name, value]) => `${name}=${value} `);
  return `${variables.join('')}npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
}

/** Whether Redis listens where the workers phase points the gateway. */
function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(6379, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readBaseline(): Baseline | undefined {
  if (!existsSync(BASELINE_PATH)) return undefined;
  return JSON.parse(readFileSync(BASELINE_PATH, 'utf8')) as Baseline;
}

function writeResults(results: BenchResults, options: BenchOptions): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  const path = join(RESULTS_DIR, `${results.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, json);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), json);
  if (options.writeBaseline) {
    const baseline: Baseline = { date: results.date, command: results.command, machine: results.machine, ratios: results.ratios };
    writeFileSync(BASELINE_PATH, JSON.stringify(baseline, null, 2) + '\n');
  }
  return path;
}

async function benchmark(argv: readonly string[], tmp: string): Promise<BenchResults> {
  const options = parseBenchOptions(argv, process.env);
  ensureBuild();
  const results: BenchResults = { schema: 1, date: new Date().toISOString(), command: commandLine(argv), machine: machineFacts(REPO_ROOT), options, ratios: {}, addedMs: {} };
  progress(`${results.command} on ${results.machine.cpus} CPUs (${results.machine.cpuModel}), Node ${results.machine.node}`);
  if (options.phases.some((phase) => phase !== 'streams' && phase !== 'cold' && phase !== 'components')) {
    progress('starting sim upstream, bare proxy and breakwater');
    const env = await startBenchEnvironment(tmp, options.phases.includes('paced'), options.maxTokens);
    try {
      await runLoadPhases(env, options, results, progress);
      if (options.phases.includes('workers')) {
        if (await redisAnswers()) results.workers = await measureWorkers(env.instant, tmp, options, progress);
        else progress('workers: skipped, no Redis on 127.0.0.1:6379 (more than one worker needs shared.redis)');
      }
    } finally {
      await env.stop();
      if (existsSync(env.gatewayLog)) progress(`gateway access log: ${formatNumber(statSync(env.gatewayLog).size / 2 ** 20, 1)} MiB written during the run`);
    }
  }
  if (options.phases.includes('streams')) {
    progress(`${options.longStreams} concurrent long streams (bench/streams.ts --n ${options.longStreams})`);
    results.streams = measureStreams(options.longStreams);
  }
  if (options.phases.includes('cold') && options.coldStarts > 0) {
    progress(`cold start × ${options.coldStarts} (each: fresh data dir, then a restart on it)`);
    results.coldStart = await measureColdStart(options.coldStarts, tmp);
  }
  if (options.phases.includes('components')) results.components = measureComponentCosts(progress);
  results.ratios = computeRatios(results);
  results.addedMs = computeAddedMs(results);
  const baseline = readBaseline();
  if (baseline && !options.writeBaseline) results.baseline = compareToBaseline(results.ratios, baseline);
  const path = writeResults(results, options);
  process.stdout.write('\n' + formatReport(results));
  progress(`wrote ${path} and bench/results/latest.json${options.writeBaseline ? ' and bench/results/baseline.json' : ''}`);
  if (results.baseline?.regressions.length) progress(`REGRESSION > 20 % against the baseline: ${results.baseline.regressions.join(', ')}`);
  return results;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(BENCH_USAGE);
    return;
  }
  await runHarness('breakwater-bench-', progress, async (tmp) => {
    await benchmark(argv, tmp);
  });
}

await main();
