// Receipt → first event on a process that has just become ready (SPEC CS-5, E2E-10): the part of
// the cold phase that times the interactive endpoints, measured from the client.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';
import { median, round } from './stats.js';

/** Generous next to 200 ms: a stream that never produces its first event fails the bench instead of hanging it. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The agent the runs probe starts; written next to the bench's temp files by {@link writeColdAgentModule}. */
export const COLD_AGENT = 'cold-echo';

/** One probe: ms from sending the request. */
export interface FirstEventTiming {
  /** Send → the first SSE event (with data) at the client. */
  firstEventMs: number;
  /** Runs only: send → the `202` of `POST /v1/runs` (then `events_url` is opened). */
  acceptedMs?: number;
}

/** Medians and maxima of one probe over all cold starts. */
export interface FirstEventSummary {
  runs: number;
  /** The event every probe saw first (the probe fails on any other). */
  event: string;
  firstEventMs: number;
  maxFirstEventMs: number;
  acceptedMs?: number;
  maxAcceptedMs?: number;
}

/**
 * Writes a module exporting the smallest agent (it returns its input; no LLM call, no tool), so a
 * run's first event measures the runtime, not agent code. Plain object: `--agents` takes anything
 * shaped `{ name, run }`, and importing nothing keeps the module's own load out of the figure.
 */
export function writeColdAgentModule(dir: string): string {
  const path = join(dir, 'cold-agents.mjs');
  writeFileSync(path, `export const coldEcho = { name: '${COLD_AGENT}', async run(_ctx, input) { return input ?? null; } };\n`);
  return path;
}

function headersFor(key: string): Record<string, string> {
  return { 'content-type': 'application/json', authorization: `Bearer ${key}` };
}

async function expectStatus(response: Dispatcher.ResponseData, status: number, what: string): Promise<void> {
  if (response.statusCode === status) return;
  const text = await response.body.text();
  throw new Error(`${what} answered ${response.statusCode}, expected ${status}: ${text.slice(0, 300)}`);
}

/**
 * Reads an SSE body to its end; returns when the first event carrying data arrived and its name
 * (comment frames such as heartbeats are not events), and the last event's name.
 */
async function readEvents(body: AsyncIterable<Buffer>): Promise<{ firstAt: number; first: string; last: string }> {
  let text = '';
  let firstAt = Number.NaN;
  let first = '';
  let last = '';
  for await (const chunk of body) {
    text += chunk.toString('utf8');
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const lines = text.slice(0, end).split('\n');
      text = text.slice(end + 2);
      if (!lines.some((line) => line.startsWith('data:'))) continue;
      const name = lines.find((line) => line.startsWith('event:'))?.slice(6).trim() ?? 'message';
      if (!first) {
        firstAt = performance.now();
        first = name;
      }
      last = name;
    }
  }
  return { firstAt, first, last };
}

function expectEvents(what: string, seen: { first: string; last: string }, first: string, last: readonly string[]): void {
  if (seen.first !== first || !last.includes(seen.last)) throw new Error(`${what}: events went ${seen.first || 'none'} … ${seen.last || 'none'}, expected ${first} … ${last.join(' or ')}`);
}

/**
 * A streamed `POST /v1/responses` on `sim-smart` (400 ms to its first token at its real timing, so
 * the first event cannot be the answer's): send → `response.created`.
 */
export async function timeFirstResponseEvent(url: string, key: string): Promise<FirstEventTiming> {
  const body = JSON.stringify({ model: 'sim-smart', input: 'Hello', stream: true, max_output_tokens: 16 });
  const started = performance.now();
  const response = await request(`${url}/v1/responses`, { method: 'POST', headers: headersFor(key), body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  await expectStatus(response, 200, 'POST /v1/responses (stream)');
  // Read to the end so the process is idle, not draining a stream, when it is stopped.
  const seen = await readEvents(response.body);
  // max_output_tokens keeps the stream short; the answer it cuts ends `response.incomplete`.
  expectEvents('POST /v1/responses (stream)', seen, 'response.created', ['response.completed', 'response.incomplete']);
  return { firstEventMs: seen.firstAt - started };
}

/** `POST /v1/runs` for {@link COLD_AGENT}, then its `events_url`: send → `run.created`. */
export async function timeFirstRunEvent(url: string, key: string): Promise<FirstEventTiming> {
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const started = performance.now();
  const created = await request(`${url}/v1/runs`, { method: 'POST', headers: headersFor(key), body: JSON.stringify({ agent: COLD_AGENT, input: { hello: 'cold' } }), signal });
  await expectStatus(created, 202, 'POST /v1/runs');
  const acceptedMs = performance.now() - started;
  const run = (await created.body.json()) as { events_url?: unknown };
  if (typeof run.events_url !== 'string') throw new Error(`POST /v1/runs answered without events_url: ${JSON.stringify(run)}`);
  const events = await request(`${url}${run.events_url}`, { headers: headersFor(key), signal });
  await expectStatus(events, 200, `GET ${run.events_url}`);
  // The stream ends after the run's terminal event: the echo agent finishes at once.
  const seen = await readEvents(events.body);
  expectEvents(`GET ${run.events_url}`, seen, 'run.created', ['run.completed']);
  return { firstEventMs: seen.firstAt - started, acceptedMs };
}

/** Medians and maxima of one probe's timings. */
export function summarizeFirstEvents(event: string, timings: readonly FirstEventTiming[]): FirstEventSummary {
  const first = timings.map((t) => t.firstEventMs);
  const summary: FirstEventSummary = { runs: timings.length, event, firstEventMs: round(median(first), 1), maxFirstEventMs: round(Math.max(...first), 1) };
  const accepted = timings.flatMap((t) => (t.acceptedMs === undefined ? [] : [t.acceptedMs]));
  if (accepted.length > 0) {
    summary.acceptedMs = round(median(accepted), 1);
    summary.maxAcceptedMs = round(Math.max(...accepted), 1);
  }
  return summary;
}
