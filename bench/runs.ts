// `npm run bench:runs`: what durability costs. Step checkpoint overhead (the time between one
// step's function returning and the next one starting: the SQLite commit of the step, its events
// and the bookkeeping), POST /v1/runs latency, and steps/s through 1 and 2 real worker processes
// sharing one SQLite file; the checkpoint and 2-worker throughput again on PostgreSQL (a fresh
// schema at BREAKWATER_BENCH_POSTGRES_URL, default the test database). Prints a table and writes
// bench/results/runs-latest.json.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { defineAgent } from '../src/runs/define-agent.js';
import { RunService } from '../src/runs/run-service.js';
import { startBreakwater } from '../src/server/start-breakwater.js';
import type { KeyRecord } from '../src/store/interfaces.js';
import type { Stores } from '../src/store/interfaces.js';
import { openPostgresStores } from '../src/store/postgres-open.js';
import { openSqliteStores } from '../src/store/sqlite-stores.js';
import { systemClock } from '../src/core/clock.js';
import { machineFacts } from './machine-facts.js';
import { round, summarize, type LatencySummary } from './stats.js';

const root = resolve(process.cwd());
const CLI = join(root, 'dist/breakwater.cjs');
const AGENTS = join(root, 'test/fixtures/chaos-agents.mjs');
const silent = pino({ level: 'silent' });

const POSTGRES_URL = process.env.BREAKWATER_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'bw-bench-runs-'));
}

/** A schema of its own on PostgreSQL for one measurement, dropped afterwards; undefined when unreachable. */
async function postgresSchema(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  const schema = `bw_bench_${process.pid}_${Date.now()}`;
  return {
    url: `${POSTGRES_URL}?schema=${schema}`,
    async drop() {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** Per-step overhead inside one process: fn end → next fn start, over `runs` runs of `steps` steps. */
async function checkpointOverhead(runs: number, steps: number, storeUrl?: string): Promise<LatencySummary> {
  const gaps: number[] = [];
  let lastEnd: number | undefined;
  const agent = defineAgent({
    name: 'timed',
    async run(ctx, input: { n: number }) {
      for (let i = 0; i < input.n; i++) {
        await ctx.step('noop', () => {
          if (lastEnd !== undefined) gaps.push(performance.now() - lastEnd);
          lastEnd = performance.now();
          return i;
        });
      }
    },
  });
  const dataDir = tempDir();
  const store = storeUrl ? { store: { kind: 'postgres' as const, url: storeUrl } } : {};
  const config = loadConfig({ env: {}, overrides: { server: { port: 0, dataDir, logLevel: 'silent' }, runs: { pollMs: 5 }, ...store } });
  const app = await startBreakwater({ config, env: {}, logger: silent, agents: [agent] });
  try {
    const key = (await app.stores.keys.listKeys()).find((k) => k.kind === 'virtual')!;
    for (let r = 0; r < runs; r++) {
      lastEnd = undefined;
      const { run } = await app.runs.service.create(key, { agent: 'timed', input: { n: steps }, limits: { maxSteps: steps } }, `req_bench_${r}`);
      let status = 'queued';
      while (status === 'queued' || status === 'running') {
        await delay(20);
        status = (await app.stores.runs.getRun(run.id))!.status;
      }
      if (status !== 'succeeded') throw new Error(`the timed run ended ${status}`);
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return summarize(gaps);
}

/** POST /v1/runs round trips against a gateway whose agent no worker runs (creation alone). */
async function createLatency(count: number): Promise<LatencySummary> {
  const dataDir = tempDir();
  const config = loadConfig({ env: {}, overrides: { server: { port: 0, dataDir, logLevel: 'silent', accessLog: false } } });
  const app = await startBreakwater({ config, env: {}, logger: silent });
  try {
    await app.stores.runs.registerAgents([{ name: 'elsewhere', onDetach: 'keep' }], Date.now());
    const headers = { authorization: `Bearer ${app.bootstrapKeys.virtualKey}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ agent: 'elsewhere', input: { order: 'x' } });
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const res = await fetch(`${app.url}/v1/runs`, { method: 'POST', headers, body });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`create answered ${res.status}`);
      if (i >= 20) samples.push(performance.now() - started);
    }
    return summarize(samples);
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function startWorkerProcess(dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'worker', '--agents', AGENTS, '--json', '--data-dir', dataDir, '--config', join(dataDir, 'breakwater.yaml')], {
    cwd: dataDir,
    env: { ...process.env, BREAKWATER_SIM__TIME_SCALE: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  for await (const line of createInterface({ input: child.stdout! })) if (line.startsWith('{"event":"ready"')) break;
  child.stdout!.resume();
  return child;
}

/** Steps per second through `workers` worker processes: `runs` runs of `steps` no-op steps. */
async function throughput(workers: number, runs: number, steps: number, storeUrl?: string): Promise<{ workers: number; runs: number; steps: number; seconds: number; stepsPerSecond: number }> {
  const dataDir = tempDir();
  const store = storeUrl ? `store:\n  kind: postgres\n  url: ${storeUrl}\n` : '';
  writeFileSync(join(dataDir, 'breakwater.yaml'), `${store}runs:\n  pollMs: 20\n  concurrency: 32\n`);
  const stores: Stores = storeUrl ? await openPostgresStores(storeUrl) : openSqliteStores({ path: join(dataDir, 'breakwater.db') });
  const children: ChildProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) children.push(await startWorkerProcess(dataDir));
    const key: KeyRecord = { id: 'bench', name: 'bench', hash: 'h', prefix: 'bw_b', kind: 'virtual', scopes: ['runs'], createdAt: 0 };
    const service = new RunService({ store: stores.runs, clock: systemClock });
    const started = performance.now();
    for (let r = 0; r < runs; r++) await service.create(key, { agent: 'steps', input: { n: steps } }, `req_${r}`);
    for (;;) {
      const done = await stores.runs.listRuns({ tenant: 'key:bench', status: 'succeeded', limit: runs });
      if (done.length === runs) break;
      await delay(20);
    }
    const seconds = (performance.now() - started) / 1000;
    return { workers, runs, steps, seconds: round(seconds, 3), stepsPerSecond: round((runs * steps) / seconds, 0) };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await stores.close();
    await delay(300);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
const checkpoint = await checkpointOverhead(3, 500);
const create = await createLatency(300);
const one = await throughput(1, 200, 40);
const two = await throughput(2, 200, 40);
/** The PostgreSQL figures, each on a fresh schema; absent when PostgreSQL does not answer. */
async function onPostgres<T>(measure: (url: string) => Promise<T>): Promise<T | undefined> {
  const schema = await postgresSchema();
  if (!schema) return undefined;
  try {
    return await measure(schema.url);
  } finally {
    await schema.drop();
  }
}
const pgCheckpoint = await onPostgres((url) => checkpointOverhead(3, 500, url));
const pgTwo = await onPostgres((url) => throughput(2, 200, 40, url));
const results = {
  schema: 1,
  date: new Date().toISOString(),
  command: 'npm run bench:runs',
  machine: machineFacts(root),
  checkpointMs: checkpoint,
  createMs: create,
  throughput: [one, two],
  postgres: pgCheckpoint && pgTwo ? { checkpointMs: pgCheckpoint, throughput: [pgTwo] } : { skipped: `PostgreSQL at ${POSTGRES_URL} not reachable` },
};
const ms = (summary: LatencySummary) => `p50 ${summary.p50.toFixed(3)} ms, p99 ${summary.p99.toFixed(3)} ms (n=${summary.count})`;
const rows = [
  ['step checkpoint overhead (SQLite, in process)', ms(checkpoint)],
  ['POST /v1/runs → 202', ms(create)],
  [`steps/s, 1 worker process (${one.runs} runs × ${one.steps} steps)`, `${one.stepsPerSecond} (${one.seconds} s)`],
  [`steps/s, 2 worker processes (${two.runs} runs × ${two.steps} steps)`, `${two.stepsPerSecond} (${two.seconds} s)`],
  ['step checkpoint overhead (PostgreSQL, in process)', pgCheckpoint ? ms(pgCheckpoint) : 'skipped: PostgreSQL not reachable'],
  ['steps/s, 2 worker processes (PostgreSQL)', pgTwo ? `${pgTwo.stepsPerSecond} (${pgTwo.seconds} s)` : 'skipped: PostgreSQL not reachable'],
];
const width = Math.max(...rows.map((row) => row[0]!.length));
for (const [name, value] of rows) process.stdout.write(`${name!.padEnd(width)}  ${value}\n`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/runs-latest.json'), JSON.stringify(results, null, 2) + '\n');
process.stdout.write('wrote bench/results/runs-latest.json\n');
// Pooled sockets and the closed gateways' timers would keep the process up a while longer.
process.exit(0);
