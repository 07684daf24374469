import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { spawnBenchChild, type BenchChild } from './bench-child.js';
import { breakwaterEnv } from './breakwater-child.js';
import { summarizeFirstEvents, timeFirstResponseEvent, timeFirstRunEvent, writeColdAgentModule, type FirstEventSummary, type FirstEventTiming } from './first-event.js';
import { median, round } from './stats.js';

/** What `npm start` and `bin/breakwater.js` run: the bundle through its code-cache launcher. */
export const PRODUCTION_CLI = 'dist/breakwater.cjs';

/** Times of one start, in ms from spawn. */
export interface StartTiming {
  /** Spawn → `{"event":"ready"}` on stdout. */
  readyLineMs: number;
  /** Spawn → `GET /readyz` answered 200. */
  readyzMs: number;
  /** Spawn → a proxied `sim-fast` completion answered 200. */
  firstProxiedMs: number;
  /** What the process itself reports (performance.now() at ready: includes module loading). */
  selfReportedMs: number;
}

/** Medians over all starts of one kind, and the slowest start. */
export interface StartSummary {
  runs: number;
  readyLineMs: number;
  readyzMs: number;
  firstProxiedMs: number;
  selfReportedMs: number;
  /** The slowest spawn → ready line. */
  maxReadyLineMs: number;
  /** The slowest spawn → first proxied 200. */
  maxFirstProxiedMs: number;
}

/** Receipt → first event of the interactive endpoints, each the first request of its own fresh process (SPEC CS-5). */
export interface FirstEventResult {
  /** Streamed `POST /v1/responses`, `sim-smart` at its real timing (~400 ms to the first token). */
  responses: FirstEventSummary;
  /** The same with an instant upstream (`sim.timeScale` 0): the gateway's own part. */
  responsesInstantUpstream: FirstEventSummary;
  /** `POST /v1/runs`, then `events_url` until `run.created`. */
  run: FirstEventSummary;
}

/** Cold start on a fresh data dir (creates the SQLite db and keys) and warm restart on the same dir. */
export interface ColdStartResult {
  fresh: StartSummary;
  restart: StartSummary;
  firstEvent: FirstEventResult;
}

async function expectOk(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<void> {
  const response = await request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.statusCode}: ${text.slice(0, 300)}`);
}

function spawnStart(dataDir: string, extraArgs: readonly string[], env: Record<string, string>): BenchChild {
  return spawnBenchChild({
    name: 'breakwater (cold start)',
    args: [PRODUCTION_CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--json', '--data-dir', dataDir, ...extraArgs],
    env: breakwaterEnv(env),
  });
}

// The built-in sim provider with zero simulated latency: the model answers instantly, so a figure
// is the gateway's own.
const INSTANT_SIM = { BREAKWATER_SIM__TIME_SCALE: '0' };

async function timeOneStart(dataDir: string, knownKey: string | undefined): Promise<{ timing: StartTiming; virtualKey: string }> {
  const started = performance.now();
  const child = spawnStart(dataDir, [], INSTANT_SIM);
  try {
    const ready = await child.ready;
    const readyLineMs = performance.now() - started;
    const url = String(ready.url);
    await expectOk(`${url}/readyz`);
    const readyzMs = performance.now() - started;
    const virtualKey = typeof ready.virtualKey === 'string' ? ready.virtualKey : knownKey;
    if (!virtualKey) throw new Error(`first start printed no virtualKey: ${JSON.stringify(ready)}`);
    await expectOk(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${virtualKey}` },
      body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 16 }),
    });
    const firstProxiedMs = performance.now() - started;
    const selfReportedMs = typeof ready.readyMs === 'number' ? ready.readyMs : Number.NaN;
    return { timing: { readyLineMs, readyzMs, firstProxiedMs, selfReportedMs }, virtualKey };
  } finally {
    await child.stop();
  }
}

function summarizeStarts(timings: StartTiming[]): StartSummary {
  const pick = (key: keyof StartTiming) => round(median(timings.map((t) => t[key])), 1);
  return {
    runs: timings.length,
    readyLineMs: pick('readyLineMs'),
    readyzMs: pick('readyzMs'),
    firstProxiedMs: pick('firstProxiedMs'),
    selfReportedMs: pick('selfReportedMs'),
    maxReadyLineMs: round(Math.max(...timings.map((t) => t.readyLineMs)), 1),
    maxFirstProxiedMs: round(Math.max(...timings.map((t) => t.firstProxiedMs)), 1),
  };
}

/** One first-event measurement: how its process is started and what it sends first. */
interface FirstEventProbe {
  /** The event it must see first. */
  event: string;
  args: readonly string[];
  env: Record<string, string>;
  time: (url: string, key: string) => Promise<FirstEventTiming>;
}

/**
 * Starts a process of its own on a fresh data dir and times one probe as its first request after
 * `/readyz` answered, as a load balancer would ask before sending traffic (the probe then reuses
 * that connection, so its figure starts at receipt, not at a TCP connect).
 */
async function timeFirstEvent(tmpRoot: string, probe: FirstEventProbe): Promise<FirstEventTiming> {
  const dataDir = mkdtempSync(join(tmpRoot, 'first-event-'));
  const child = spawnStart(dataDir, probe.args, probe.env);
  try {
    const ready = await child.ready;
    const url = String(ready.url);
    await expectOk(`${url}/readyz`);
    if (typeof ready.virtualKey !== 'string') throw new Error(`a fresh start printed no virtualKey: ${JSON.stringify(ready)}`);
    return await probe.time(url, ready.virtualKey);
  } finally {
    await child.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Spawns the production CLI `runs` times on fresh data dirs, restarting each once on the same dir
 * (the key printed by the first start must still work), and reports medians and maxima (SPEC PERF-3).
 * After each pair, one more fresh process per interactive endpoint times its first event (CS-5):
 * a process of its own for each, because whichever went second on a shared one would find code
 * compiled and the store warmed by the first; and after the pair, so PERF-3's figures stay as
 * they were measured before.
 */
export async function measureColdStart(runs: number, tmpRoot: string): Promise<ColdStartResult> {
  const fresh: StartTiming[] = [];
  const restart: StartTiming[] = [];
  const agents = writeColdAgentModule(tmpRoot);
  const probes = {
    responses: { event: 'response.created', args: [], env: {}, time: timeFirstResponseEvent },
    responsesInstantUpstream: { event: 'response.created', args: [], env: INSTANT_SIM, time: timeFirstResponseEvent },
    run: { event: 'run.created', args: ['--agents', agents], env: {}, time: timeFirstRunEvent },
  } satisfies Record<keyof FirstEventResult, FirstEventProbe>;
  const names = Object.keys(probes) as (keyof FirstEventResult)[];
  const firstEvents: Record<keyof FirstEventResult, FirstEventTiming[]> = { responses: [], responsesInstantUpstream: [], run: [] };
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(tmpRoot, 'cold-'));
    try {
      const first = await timeOneStart(dataDir, undefined);
      fresh.push(first.timing);
      restart.push((await timeOneStart(dataDir, first.virtualKey)).timing);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    for (const name of names) firstEvents[name].push(await timeFirstEvent(tmpRoot, probes[name]));
  }
  const summary = (name: keyof FirstEventResult) => summarizeFirstEvents(probes[name].event, firstEvents[name]);
  return {
    fresh: summarizeStarts(fresh),
    restart: summarizeStarts(restart),
    firstEvent: { responses: summary('responses'), responsesInstantUpstream: summary('responsesInstantUpstream'), run: summary('run') },
  };
}
