// `npm run bench:chaos` (SPEC PERF-9): 2,000 requests at concurrency 50 through the gateway, half
// streamed, against a primary upstream with ~30% mixed faults and a healthy fallback, both real
// HTTP servers (`sim serve`). Every answer is classified from what the client received.
// Faults after content has been streamed to a client cannot be healed (the bytes are out), so
// streamed requests must end complete or in a clean in-band error; non-streamed ones must be
// complete, since the gateway assembles upstream streams before answering and retries any cut.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { loadConfig } from '../src/config/load-config.js';
import { startBreakwater } from '../src/server/start-breakwater.js';
import { startSimServer } from '../src/sim/sim-server.js';
import type { SimJournalEntry } from '../src/sim/sim-journal.js';

const TOTAL = Number(process.env.CHAOS_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 50);
const CLIENT_TIMEOUT_MS = 30_000;
// Each fault fires on 3.5% of requests (seeded dice): about 30% of primary calls fail somehow.
const FAULTS = [
  '429',
  '500',
  '503',
  'reset',
  'hang',
  'slow-first-token:ms=3000',
  'cut:after=3',
  'stall:after=3',
  'malformed:at=3',
  'no-terminator',
  'empty',
]
  .map((f) => `${f}:p=0.032`)
  .join(',');

type Outcome = 'complete' | 'clean_error' | 'truncated_success' | 'hang';

interface Tally {
  complete: number;
  clean_error: number;
  truncated_success: number;
  hang: number;
  latencies: number[];
}

async function classify(url: string, key: string, stream: boolean, index: number): Promise<Outcome> {
  const body = JSON.stringify({ model: 'chaos', stream, max_tokens: 60, messages: [{ role: 'user', content: `Question ${index}: tell me about harbours` }] });
  try {
    const res = await request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return 'clean_error';
    if (!stream) {
      const json = JSON.parse(text) as { choices: Array<{ message: { content: string | null }; finish_reason: string }> };
      const choice = json.choices[0];
      return choice && choice.message.content && (choice.finish_reason === 'stop' || choice.finish_reason === 'length') ? 'complete' : 'truncated_success';
    }
    if (text.includes('"error"')) return 'clean_error';
    const finished = /"finish_reason":"(stop|length)"/.test(text);
    return text.endsWith('data: [DONE]\n\n') && finished ? 'complete' : 'truncated_success';
  } catch (error) {
    return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError') ? 'hang' : 'clean_error';
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const primary = await startSimServer({ port: 0, host: '127.0.0.1', seed: 101, timeScale: 0.05 });
  const fallback = await startSimServer({ port: 0, host: '127.0.0.1', seed: 202, timeScale: 0.05 });
  primary.engine.setFaults(FAULTS);
  const dataDir = mkdtempSync(join(tmpdir(), 'bw-chaos-'));
  const configPath = join(dataDir, 'breakwater.yaml');
  writeFileSync(
    configPath,
    `providers:
  primary: { kind: openai-compatible, baseUrl: "${primary.url}/v1", apiKey: k }
  fallback: { kind: openai-compatible, baseUrl: "${fallback.url}/v1", apiKey: k }
models:
  chaos:
    deployments:
      - { provider: primary, model: sim-fast }
      - { provider: fallback, model: sim-fast }
routes:
  defaults:
    timeouts: { headersMs: 1000, firstTokenMs: 1000, idleMs: 1000 }
`,
  );
  const config = loadConfig({ path: configPath, env: {}, overrides: { server: { port: 0, dataDir, accessLog: false } } });
  const app = await startBreakwater({ config, env: {}, logger: pino({ level: 'silent' }) });
  const key = app.bootstrapKeys.virtualKey!;

  const tally: Tally = { complete: 0, clean_error: 0, truncated_success: 0, hang: 0, latencies: [] };
  const streamed: Tally = { complete: 0, clean_error: 0, truncated_success: 0, hang: 0, latencies: [] };
  let next = 0;
  const started = performance.now();
  async function worker(): Promise<void> {
    while (next < TOTAL) {
      const index = next++;
      const stream = index % 2 === 1;
      const t0 = performance.now();
      const outcome = await classify(app.url, key, stream, index);
      const target = stream ? streamed : tally;
      target[outcome]++;
      target.latencies.push(performance.now() - t0);
      if ((index + 1) % 200 === 0) process.stderr.write(`  ${index + 1}/${TOTAL} requests\n`);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedS = (performance.now() - started) / 1000;

  const calls = async (server: { url: string }) => {
    const body = (await (await fetch(`${server.url}/_sim/journal`)).json()) as SimJournalEntry[] | { entries: SimJournalEntry[] };
    return (Array.isArray(body) ? body : body.entries).length;
  };
  const primaryCalls = await calls(primary);
  const fallbackCalls = await calls(fallback);
  const breakers = app.resilience.breakers.snapshot();
  await app.close();
  await primary.close();
  await fallback.close();
  rmSync(dataDir, { recursive: true, force: true });

  const all = [...tally.latencies, ...streamed.latencies].sort((a, b) => a - b);
  const complete = tally.complete + streamed.complete;
  const summary = {
    requests: TOTAL,
    concurrency: CONCURRENCY,
    elapsedS: Number(elapsedS.toFixed(1)),
    completeRatio: complete / TOTAL,
    nonStreamed: { complete: tally.complete, cleanError: tally.clean_error, truncatedSuccess: tally.truncated_success, hang: tally.hang },
    streamed: { complete: streamed.complete, cleanError: streamed.clean_error, truncatedSuccess: streamed.truncated_success, hang: streamed.hang },
    latencyMs: { p50: Math.round(percentile(all, 50)), p99: Math.round(percentile(all, 99)), max: Math.round(all.at(-1) ?? 0) },
    upstreamCalls: { primary: primaryCalls, fallback: fallbackCalls },
    primaryBreaker: breakers['primary/sim-fast']?.state ?? 'none',
  };
  const nonStreamedComplete = tally.complete / (TOTAL - Math.floor(TOTAL / 2));
  const pass = nonStreamedComplete >= 0.999 && streamed.truncated_success + tally.truncated_success === 0 && streamed.hang + tally.hang === 0;
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/chaos-latest.json', JSON.stringify({ ...summary, pass }, null, 2) + '\n');
  console.log(`
chaos: ${TOTAL} requests, concurrency ${CONCURRENCY}, ~30% faults on the primary (${elapsedS.toFixed(1)} s)
                  complete  clean error  truncated success  hang
  non-streamed    ${String(tally.complete).padStart(8)}  ${String(tally.clean_error).padStart(11)}  ${String(tally.truncated_success).padStart(17)}  ${String(tally.hang).padStart(4)}
  streamed        ${String(streamed.complete).padStart(8)}  ${String(streamed.clean_error).padStart(11)}  ${String(streamed.truncated_success).padStart(17)}  ${String(streamed.hang).padStart(4)}
  complete answers: ${(summary.completeRatio * 100).toFixed(2)}% overall, ${(nonStreamedComplete * 100).toFixed(2)}% non-streamed (target >= 99.9%)
  streamed failures after content are clean in-band errors (${streamed.clean_error}), never truncated successes
  latency p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms, max ${summary.latencyMs.max} ms
  upstream calls: primary ${primaryCalls}, fallback ${fallbackCalls} (429 cooldowns and the breaker skip the primary without a call); primary breaker at end: ${summary.primaryBreaker}
  ${pass ? 'PASS' : 'FAIL'}  (results in bench/results/chaos-latest.json)
`);
  process.exitCode = pass ? 0 : 1;
}

await main();
