import { Pool } from 'undici';

/** One thing the benchmark sends load to. */
export interface HttpTarget {
  name: 'direct' | 'bare' | 'breakwater';
  /** Origin, e.g. http://127.0.0.1:41234 — always loopback. */
  url: string;
  /** Model name in the request body (the gateway uses its own alias). */
  model: string;
  /** Extra request headers (the gateway's virtual key). */
  headers: Record<string, string>;
  /** Processes whose CPU is charged to each request: name → pid. */
  pids: Record<string, number>;
}

/** The chat completion body every target receives (only `model` differs). */
export function completionBody(model: string, stream: boolean, maxTokens: number): string {
  const body: Record<string, unknown> = {
    model,
    messages: [{ role: 'user', content: 'Write a short note about harbours and breakwaters.' }],
    max_tokens: maxTokens,
  };
  if (stream) body.stream = true;
  return JSON.stringify(body);
}

/** Headers of a completion request to `target`. */
export function requestHeaders(target: HttpTarget): Record<string, string> {
  return { 'content-type': 'application/json', ...target.headers };
}

/** A keep-alive client pool for the custom load clients (never pipelined, like real SDKs). */
export function targetPool(target: HttpTarget, connections: number): Pool {
  if (!new URL(target.url).hostname.startsWith('127.')) throw new Error(`refusing to load a non-loopback target: ${target.url}`);
  return new Pool(target.url, { connections, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 30_000, headersTimeout: 30_000 });
}

/** Resolves after `ms` (the load clients' pacing tick). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
