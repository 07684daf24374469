// Load client of `npm run bench:streams`, in its own process: opens N streams spread evenly over a
// ramp, holds them all to the end and reports time to first token. Prints {"event":"ready"} at
// once and {"event":"result",…} when every stream has ended.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { exitWithParent } from './exit-with-parent.js';
import { SampleList, summarize, type LatencySummary } from './stats.js';
import { hasContentToken } from './stream-run.js';

/** What the harness asks for (argv[2], JSON). */
export interface StreamsJob {
  url: string;
  headers: Record<string, string>;
  body: string;
  streams: number;
  rampMs: number;
  timeoutMs: number;
}

/** What the client reports. */
export interface StreamsClientResult {
  event: 'result';
  ok: number;
  failures: number;
  /** A few failure reasons, for the log. */
  errors: string[];
  /** Most streams open at one moment. */
  maxOpen: number;
  /** Request sent → first content token, ms. */
  ttftMs: LatencySummary;
  /** First to last stream end, s. */
  elapsedS: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as StreamsJob;
exitWithParent();

const pool = new Pool(job.url, { connections: job.streams, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: job.timeoutMs, bodyTimeout: job.timeoutMs });
const ttft = new SampleList();
const errors: string[] = [];
let ok = 0;
let failures = 0;
let open = 0;
let maxOpen = 0;

async function oneStream(): Promise<void> {
  const started = performance.now();
  open++;
  if (open > maxOpen) maxOpen = open;
  try {
    const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: job.headers, body: job.body });
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      throw new Error(`status ${response.statusCode}: ${text.slice(0, 200)}`);
    }
    let firstTokenAt = -1;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (firstTokenAt < 0 && hasContentToken(chunk)) firstTokenAt = performance.now();
    }
    if (firstTokenAt < 0) throw new Error('the stream ended without a content token');
    ttft.push(firstTokenAt - started);
    samples?.push([Math.round(started - t0), Math.round((firstTokenAt - started) * 100) / 100]);
    ok++;
  } catch (error) {
    failures++;
    if (errors.length < 5) errors.push(error instanceof Error ? error.message : String(error));
  } finally {
    open--;
  }
}

process.stdout.write(JSON.stringify({ event: 'ready', pid: process.pid }) + '\n');
/** When the ramp began; each stream's own `started` is its slot on it. */
const t0 = performance.now();
// Each stream's [start offset ms, TTFT ms], to see when the slow ones started (BENCH_STREAMS_SAMPLES=<file>).
const samples: Array<[number, number]> | undefined = process.env.BENCH_STREAMS_SAMPLES ? [] : undefined;
const interval = job.rampMs / job.streams;
// Timers, not a loop with awaits: each stream starts on its own slot of the ramp however slow
// the others are to connect.
await Promise.all(
  Array.from({ length: job.streams }, (_, i) => new Promise<void>((resolve) => setTimeout(() => oneStream().then(resolve), i * interval))),
);
const result: StreamsClientResult = { event: 'result', ok, failures, errors, maxOpen, ttftMs: summarize(ttft.values()), elapsedS: (performance.now() - t0) / 1000 };
if (samples) writeFileSync(`${process.env.BENCH_STREAMS_SAMPLES}.${job.url.split(':').pop()}.json`, JSON.stringify(samples));
process.stdout.write(JSON.stringify(result) + '\n');
await pool.close();
process.exit(0);
