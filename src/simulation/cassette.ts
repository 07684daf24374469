import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One recorded answer: status, the headers worth keeping, and each chunk with its time after the request. */
export interface CassetteResponse {
  status: number;
  headers: Record<string, string>;
  chunks: Array<{ atMs: number; data: string }>;
}

/** Every exchange of one normalised request (SPEC SIM-16); replays cycle through `responses`. */
export interface CassetteEntry {
  key: string;
  request: { method: string; path: string; body: unknown };
  responses: CassetteResponse[];
}

/** Request fields that do not change the answer's shape: left out of the key. */
const VOLATILE_FIELDS = new Set(['user', 'metadata', 'stream_options', 'store', 'service_tier']);
/** Response headers replayed; everything else (cookies, ids, rate-limit accounting, keys) is dropped. */
const KEPT_HEADERS = new Set(['content-type', 'retry-after', 'retry-after-ms', 'anthropic-version', 'openai-version']);
const SECRET = /\b(sk-(?:ant-)?[A-Za-z0-9_-]{8,}|bw_[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+/-]{8,})/g;

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  return value;
}

/** The request as the key sees it: sorted keys, volatile fields dropped, secrets removed. */
export function normaliseRequest(method: string, path: string, body: unknown): CassetteEntry['request'] {
  const cleaned = body && typeof body === 'object' && !Array.isArray(body) ? Object.fromEntries(Object.entries(body).filter(([k]) => !VOLATILE_FIELDS.has(k))) : body;
  return { method: method.toUpperCase(), path: path.split('?')[0]!, body: redactValue(sortKeys(cleaned)) };
}

export function cassetteKey(request: CassetteEntry['request']): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 24);
}

/** Strings that look like API keys or bearer tokens, replaced wherever they appear. */
export function redactText(text: string): string {
  return text.replace(SECRET, '[redacted]');
}

function redactValue(value: unknown): unknown {
  return JSON.parse(redactText(JSON.stringify(value ?? null))) as unknown;
}

export function keptHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (KEPT_HEADERS.has(name.toLowerCase()) && value !== undefined) kept[name.toLowerCase()] = String(value);
  return kept;
}

/** A cassette directory: one JSON file per normalised request. */
export interface Cassette {
  find(key: string): CassetteEntry | undefined;
  entries(): CassetteEntry[];
  append(request: CassetteEntry['request'], response: CassetteResponse): CassetteEntry;
}

export function openCassette(dir: string): Cassette {
  mkdirSync(dir, { recursive: true });
  const file = (key: string) => join(dir, `${key}.json`);
  const find = (key: string) => (existsSync(file(key)) ? (JSON.parse(readFileSync(file(key), 'utf8')) as CassetteEntry) : undefined);
  return {
    find,
    entries: () => readdirSync(dir).filter((name) => name.endsWith('.json')).sort().map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as CassetteEntry),
    append(request, response) {
      const key = cassetteKey(request);
      const entry = find(key) ?? { key, request, responses: [] };
      entry.responses.push({ ...response, chunks: response.chunks.map((c) => ({ atMs: c.atMs, data: redactText(c.data) })) });
      writeFileSync(file(key), JSON.stringify(entry, null, 2) + '\n');
      return entry;
    },
  };
}
