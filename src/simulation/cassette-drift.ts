import { openCassette, type CassetteEntry, type CassetteResponse } from './cassette.js';

/** Where one recorded request's live answer no longer looks like the recording. */
export interface Drift {
  key: string;
  request: string;
  differences: string[];
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Every path of a JSON value with its type; array items merge under `[]`. */
function shape(value: unknown, prefix = '$', out = new Map<string, string>()): Map<string, string> {
  out.set(prefix, typeOf(value));
  if (Array.isArray(value)) for (const item of value) shape(item, `${prefix}[]`, out);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) shape(v, `${prefix}.${k}`, out);
  return out;
}

/** The shape of an answer: a JSON body, or the union of the JSON events of a stream (by event name). */
function answerShape(response: CassetteResponse): Map<string, string> {
  const text = response.chunks.map((c) => c.data).join('');
  if (!(response.headers['content-type'] ?? '').includes('text/event-stream')) {
    try {
      return shape(JSON.parse(text));
    } catch {
      return new Map([['$', 'text']]);
    }
  }
  const out = new Map<string, string>();
  for (const frame of text.split('\n\n')) {
    const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (data === undefined) continue;
    try {
      shape(JSON.parse(data), `${event}`, out);
    } catch {
      out.set(`${event}`, data === '[DONE]' ? 'done' : 'text');
    }
  }
  return out;
}

/** Differences between a recorded and a live answer's status, content type and shape. */
export function compareShapes(recorded: CassetteResponse, live: CassetteResponse): string[] {
  const differences: string[] = [];
  if (recorded.status !== live.status) differences.push(`status ${recorded.status} → ${live.status}`);
  const [a, b] = [recorded.headers['content-type'] ?? '', live.headers['content-type'] ?? ''].map((t) => t.split(';')[0]);
  if (a !== b) differences.push(`content-type ${a} → ${b}`);
  const before = answerShape(recorded);
  const after = answerShape(live);
  for (const [path, type] of before) {
    if (!after.has(path)) differences.push(`${path} (${type}) is gone`);
    else if (after.get(path) !== type) differences.push(`${path} was ${type}, is ${after.get(path)}`);
  }
  for (const [path, type] of after) if (!before.has(path)) differences.push(`${path} (${type}) is new`);
  return differences;
}

async function replayLive(entry: CassetteEntry, upstream: string, headers: Record<string, string>): Promise<CassetteResponse> {
  const body = entry.request.body === null ? undefined : JSON.stringify(entry.request.body);
  const answer = await fetch(`${upstream.replace(/\/$/, '')}${entry.request.path}`, { method: entry.request.method, headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: answer.status, headers: { 'content-type': answer.headers.get('content-type') ?? '' }, chunks: [{ atMs: 0, data: await answer.text() }] };
}

/**
 * `breakwater record verify` (SPEC SIM-16): sends each recorded request to the live upstream and
 * reports where the answer's status, content type or JSON shape (paths and types, per stream event)
 * no longer matches the cassette — values may differ, structure may not.
 */
export async function checkDrift(dir: string, upstream: string, headers: Record<string, string> = {}): Promise<Drift[]> {
  const drifts: Drift[] = [];
  for (const entry of openCassette(dir).entries()) {
    const live = await replayLive(entry, upstream, headers);
    const differences = compareShapes(entry.responses[0]!, live);
    if (differences.length > 0) drifts.push({ key: entry.key, request: `${entry.request.method} ${entry.request.path}`, differences });
  }
  return drifts;
}
