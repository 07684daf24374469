import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { requestHeaders, targetPool, type HttpTarget } from './http-target.js';
import { cpuPerSuccess, measureWindow, otherCpuShare, percent, type MeasuredWindow } from './measure-window.js';
import { SampleList, summarize, type LatencySummary } from './stats.js';

/** Result of N concurrent streaming clients against one target. */
export interface StreamResult {
  target: HttpTarget['name'];
  concurrency: number;
  /** Completed 2xx streams in the measured window. */
  streams: number;
  streamsPerS: number;
  failures: number;
  /** Request sent → first body chunk holding `data:` (may be an empty role chunk). */
  firstDataMs: LatencySummary;
  /** Request sent → first chunk with a non-empty content delta: time to first token. */
  ttftMs: LatencySummary;
  /** Time between body chunks after the first token (only meaningful with sim timing on). */
  gapMs: LatencySummary;
  /** Mean `data:` events per stream, to check the stream length. */
  eventsPerStream: number;
  cpuUsPerStream: Record<string, number>;
  /** % of the machine's CPU that unrelated processes used meanwhile (noise); undefined off Linux. */
  otherCpuPercent: number | undefined;
}

/** Load shape of a streaming run. */
export interface StreamOptions {
  concurrency: number;
  warmupS: number;
  durationS: number;
}

interface StreamTally {
  ok: number;
  failures: number;
  events: number;
  ttfb: SampleList;
  ttft: SampleList;
  gaps: SampleList;
}

const DATA = Buffer.from('data:');
const CONTENT = Buffer.from('"content":"');
const QUOTE = 0x22;

function countData(chunk: Buffer): number {
  let count = 0;
  for (let at = chunk.indexOf(DATA); at >= 0; at = chunk.indexOf(DATA, at + DATA.length)) count++;
  return count;
}

/** A non-empty `"content":"…"` delta: the first token, not the empty role chunk some servers send at once. */
export function hasContentToken(chunk: Buffer): boolean {
  for (let at = chunk.indexOf(CONTENT); at >= 0; at = chunk.indexOf(CONTENT, at + CONTENT.length)) {
    const next = at + CONTENT.length;
    if (next < chunk.length && chunk[next] !== QUOTE) return true;
  }
  return false;
}

async function oneStream(pool: Pool, target: HttpTarget, body: string, tally: StreamTally): Promise<void> {
  const started = performance.now();
  const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: requestHeaders(target), body });
  if (response.statusCode < 200 || response.statusCode >= 300) {
    await response.body.dump({ limit: 1 << 20 });
    tally.failures++;
    return;
  }
  let firstDataAt = -1;
  let firstTokenAt = -1;
  let lastAt = 0;
  let events = 0;
  const gaps: number[] = [];
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    const now = performance.now();
    const found = countData(chunk);
    events += found;
    if (firstDataAt < 0 && found > 0) firstDataAt = now;
    if (firstTokenAt >= 0) gaps.push(now - lastAt);
    else if (hasContentToken(chunk)) firstTokenAt = now;
    lastAt = now;
  }
  if (firstTokenAt < 0) {
    tally.failures++;
    return;
  }
  tally.ok++;
  tally.events += events;
  tally.ttfb.push(firstDataAt - started);
  tally.ttft.push(firstTokenAt - started);
  for (const gap of gaps) tally.gaps.push(gap);
}

async function worker(pool: Pool, target: HttpTarget, body: string, deadline: number, tally: StreamTally): Promise<void> {
  while (performance.now() < deadline) {
    try {
      await oneStream(pool, target, body, tally);
    } catch {
      tally.failures++;
    }
  }
}

function newTally(): StreamTally {
  return { ok: 0, failures: 0, events: 0, ttfb: new SampleList(), ttft: new SampleList(), gaps: new SampleList() };
}

async function drive(pool: Pool, target: HttpTarget, body: string, concurrency: number, seconds: number, tally: StreamTally): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => worker(pool, target, body, deadline, tally)));
}

/** Warms up, then keeps `concurrency` streams open back to back (closed loop) for `durationS`. */
export async function measureStreams(target: HttpTarget, body: string, options: StreamOptions): Promise<MeasuredWindow> {
  const pool = targetPool(target, options.concurrency);
  try {
    if (options.warmupS > 0) await drive(pool, target, body, options.concurrency, options.warmupS, newTally());
    return await measureWindow(target, async () => {
      const tally = newTally();
      await drive(pool, target, body, options.concurrency, options.durationS, tally);
      return {
        ok: tally.ok,
        failures: tally.failures,
        samples: { firstData: tally.ttfb.values(), ttft: tally.ttft.values(), gap: tally.gaps.values() },
        counters: { events: tally.events },
      };
    });
  } finally {
    await pool.close();
  }
}

/** Summarizes a target's merged streaming windows. */
export function streamResult(target: HttpTarget, concurrency: number, window: MeasuredWindow): StreamResult {
  return {
    target: target.name,
    concurrency,
    streams: window.ok,
    streamsPerS: window.ok / window.elapsedS,
    failures: window.failures,
    firstDataMs: summarize(window.samples.firstData ?? []),
    ttftMs: summarize(window.samples.ttft ?? []),
    gapMs: summarize(window.samples.gap ?? []),
    eventsPerStream: window.ok ? (window.counters.events ?? 0) / window.ok : 0,
    cpuUsPerStream: cpuPerSuccess(window),
    otherCpuPercent: percent(otherCpuShare(window)),
  };
}
