import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { spawnBenchChild } from './bench-child.js';
import { breakwaterEnv } from './breakwater-child.js';
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

/** Cold start on a fresh data dir (creates the SQLite db and keys) and warm restart on the same dir. */
export interface ColdStartResult {
  fresh: StartSummary;
  restart: StartSummary;
}

async function expectOk(url: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<void> {
  const response = await request(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.statusCode}: ${text.slice(0, 300)}`);
}

async function timeOneStart(dataDir: string, knownKey: string | undefined): Promise<{ timing: StartTiming; virtualKey: string }> {
  const started = performance.now();
  // The built-in sim provider with zero simulated latency: the model answers instantly, so the
  // figure is the gateway's own start-up.
  const child = spawnBenchChild({
    name: 'breakwater (cold start)',
    args: [PRODUCTION_CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--json', '--data-dir', dataDir],
    env: breakwaterEnv({ BREAKWATER_SIM__TIME_SCALE: '0' }),
  });
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

/**
 * Spawns the production CLI `runs` times on fresh data dirs, restarting each once on the same dir
 * (the key printed by the first start must still work), and reports medians and maxima (SPEC PERF-3).
 */
export async function measureColdStart(runs: number, tmpRoot: string): Promise<ColdStartResult> {
  const fresh: StartTiming[] = [];
  const restart: StartTiming[] = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = mkdtempSync(join(tmpRoot, 'cold-'));
    try {
      const first = await timeOneStart(dataDir, undefined);
      fresh.push(first.timing);
      restart.push((await timeOneStart(dataDir, first.virtualKey)).timing);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { fresh: summarizeStarts(fresh), restart: summarizeStarts(restart) };
}
