import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';

/** What `breakwater doctor stream` concluded about the path between client and gateway. */
export type StreamVerdict = 'incremental' | 'buffered' | 'chunked' | 'inconclusive' | 'error';

/** The probe's findings (also the `--json` output). */
export interface StreamProbeReport {
  url: string;
  model: string;
  status: number;
  httpVersion: string;
  verdict: StreamVerdict;
  /** One sentence a person can act on. */
  summary: string;
  /** Request sent → first content event, ms. */
  ttftMs: number | undefined;
  /** Request sent → response headers, ms. */
  headersMs: number;
  totalMs: number;
  contentEvents: number;
  heartbeats: number;
  /** Groups of content events that arrived within {@link BURST_GAP_MS} of each other. */
  bursts: number;
  /** Share of content events in the largest burst (1 = all at once). */
  largestBurstShare: number;
  largestGapMs: number | undefined;
  /** First → last content event, ms. */
  spanMs: number | undefined;
  /** What the response headers say about the hops in between. */
  findings: string[];
  /** The most likely reason when the stream did not arrive incrementally. */
  likelyCulprit: string | undefined;
  /** Response headers that tell about intermediaries. */
  headers: Record<string, string>;
}

/** Events closer together than this arrived in one release from whatever held them. */
export const BURST_GAP_MS = 5;

/** A whole answer faster than this cannot show buffering. */
const TOO_FAST_MS = 250;

/** How to probe. */
export interface StreamProbeOptions {
  baseUrl: string;
  key?: string;
  model: string;
  /** Answer length asked for: long enough that a paced upstream spreads it over a second or two. */
  tokens: number;
  timeoutMs: number;
}

interface Arrival {
  at: number;
  kind: 'content' | 'heartbeat' | 'other';
}

const INTERESTING_HEADERS = ['server', 'via', 'content-type', 'content-encoding', 'content-length', 'transfer-encoding', 'cache-control', 'x-accel-buffering', 'connection', 'x-breakwater-served-by', 'cf-ray', 'x-cache', 'x-served-by'];

/** The chat completions URL under a base URL given with or without `/v1`. */
export function completionsUrl(baseUrl: string): URL {
  const base = baseUrl.replace(/\/+$/, '');
  return new URL(base.endsWith('/v1') ? `${base}/chat/completions` : `${base}/v1/chat/completions`);
}

/** Opens one streaming chat completion and records when each SSE event arrived. */
export async function probeStream(options: StreamProbeOptions): Promise<StreamProbeReport> {
  const url = completionsUrl(options.baseUrl);
  const body = JSON.stringify({
    model: options.model,
    stream: true,
    max_tokens: options.tokens,
    messages: [{ role: 'user', content: `Describe how a breakwater protects a harbour, in ${options.tokens} tokens.` }],
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    // What a browser sends: a compressing proxy shows itself only when compression is allowed.
    'accept-encoding': 'gzip, deflate, br',
  };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const started = performance.now();
  const res = await send(url, headers, body, options.timeoutMs);
  const headersMs = performance.now() - started;
  const arrivals: Arrival[] = [];
  const text = await readEvents(decoded(res), (kind) => arrivals.push({ at: performance.now() - started, kind }), options.timeoutMs);
  const totalMs = performance.now() - started;
  const picked = pickHeaders(res.headers);
  const base = { url: url.href, model: options.model, status: res.statusCode ?? 0, httpVersion: res.httpVersion, headersMs, totalMs, headers: picked };
  if (res.statusCode !== 200) {
    const summary = `the gateway answered ${res.statusCode}: ${text.slice(0, 300)}`;
    return { ...base, ...analyzeArrivals([]), verdict: 'error', summary, findings: headerFindings(res), likelyCulprit: undefined };
  }
  return { ...base, ...diagnose(arrivals, res) };
}

function send(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, signal: AbortSignal.timeout(timeoutMs) }, resolve);
    req.once('error', reject);
    req.end(body);
  });
}

function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return res.pipe(createGunzip());
  if (encoding === 'deflate') return res.pipe(createInflate());
  if (encoding === 'br') return res.pipe(createBrotliDecompress());
  return res;
}

/** Splits the body into SSE events as they arrive; returns the text (for error bodies). */
async function readEvents(body: Readable, onEvent: (kind: Arrival['kind']) => void, timeoutMs: number): Promise<string> {
  const timer = setTimeout(() => body.destroy(new Error(`no end of stream after ${timeoutMs} ms`)), timeoutMs);
  let pending = '';
  let all = '';
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const text = chunk.toString('utf8').replace(/\r\n?/g, '\n');
      if (all.length < 4096) all += text;
      pending += text;
      let end: number;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        onEvent(classify(pending.slice(0, end)));
        pending = pending.slice(end + 2);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return all;
}

function classify(event: string): Arrival['kind'] {
  if (event.startsWith(':') || /^event: ping$/m.test(event)) return 'heartbeat';
  // A delta with text, reasoning or tool arguments (OpenAI chunks) is content.
  return /"(content|reasoning_content|arguments)":"[^"]/.test(event) ? 'content' : 'other';
}

/** Timing facts of the content events. */
export function analyzeArrivals(arrivals: readonly Arrival[]): Pick<StreamProbeReport, 'ttftMs' | 'contentEvents' | 'heartbeats' | 'bursts' | 'largestBurstShare' | 'largestGapMs' | 'spanMs'> {
  const content = arrivals.filter((a) => a.kind === 'content').map((a) => a.at);
  let bursts = 0;
  let burstSize = 0;
  let largestBurst = 0;
  let largestGap: number | undefined;
  content.forEach((at, i) => {
    const gap = i === 0 ? Infinity : at - content[i - 1]!;
    if (i > 0) largestGap = Math.max(largestGap ?? 0, gap);
    if (gap > BURST_GAP_MS) {
      bursts++;
      burstSize = 0;
    }
    largestBurst = Math.max(largestBurst, ++burstSize);
  });
  return {
    ttftMs: content[0],
    contentEvents: content.length,
    heartbeats: arrivals.filter((a) => a.kind === 'heartbeat').length,
    bursts,
    largestBurstShare: content.length ? largestBurst / content.length : 0,
    largestGapMs: largestGap,
    spanMs: content.length ? content[content.length - 1]! - content[0]! : undefined,
  };
}

function pickHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of INTERESTING_HEADERS) {
    const value = headers[name];
    if (value !== undefined) picked[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return picked;
}

/** What the headers say about intermediaries, strongest suspects first. */
export function headerFindings(res: Pick<IncomingMessage, 'headers' | 'httpVersion'>): string[] {
  const h = res.headers;
  const findings: string[] = [];
  const encoding = h['content-encoding'];
  if (encoding && encoding !== 'identity') {
    findings.push(`the stream is compressed (content-encoding: ${encoding}), which Breakwater never does: a proxy compresses it and holds events until its compression buffer fills; exclude text/event-stream from compression (nginx: gzip_types)`);
  }
  if (h['content-length'] !== undefined) findings.push(`content-length: ${h['content-length']} on a stream: something assembled the whole body before sending it`);
  if (res.httpVersion === '1.0') findings.push('the response came over HTTP/1.0 (no chunked encoding): an old proxy hop; set it to HTTP/1.1 (nginx: proxy_http_version 1.1)');
  const server = String(h.server ?? '');
  const proxyName = /nginx|openresty|envoy|cloudflare|apache|haproxy|caddy|traefik|varnish|squid|akamai|cloudfront/i.exec(server)?.[0];
  if (proxyName) findings.push(`served through ${proxyName} (server: ${server})`);
  if (h.via) findings.push(`a proxy says it is in the path (via: ${h.via})`);
  if (h['x-breakwater-served-by'] === undefined) findings.push('no x-breakwater-* headers: the answer may not come from Breakwater, or a proxy strips them');
  else if (h['x-accel-buffering'] === undefined) findings.push(`x-accel-buffering: no was removed on the way${proxyName === 'nginx' ? ' (nginx consumes it: normal, unless proxy_ignore_headers overrides it)' : ''}`);
  if (!String(h['cache-control'] ?? '').includes('no-transform')) findings.push('cache-control lost no-transform on the way: an intermediary rewrote the headers');
  if (!String(h['content-type'] ?? '').startsWith('text/event-stream')) findings.push(`content-type is ${h['content-type'] ?? 'missing'}, not text/event-stream`);
  return findings;
}

function diagnose(arrivals: readonly Arrival[], res: IncomingMessage): Omit<StreamProbeReport, 'url' | 'model' | 'status' | 'httpVersion' | 'headersMs' | 'totalMs' | 'headers'> {
  const timing = analyzeArrivals(arrivals);
  const findings = headerFindings(res);
  const n = timing.contentEvents;
  let verdict: StreamVerdict;
  let summary: string;
  const lastContentAt = (timing.ttftMs ?? 0) + (timing.spanMs ?? 0);
  if (n < 4) {
    verdict = 'inconclusive';
    summary = `only ${n} content events: ask for a longer answer (--tokens) to tell`;
  } else if (lastContentAt < TOO_FAST_MS) {
    // Nothing had time to be held back: an instant upstream looks the same buffered or not.
    verdict = 'inconclusive';
    summary = `the whole answer (${n} content events) arrived within ${Math.round(lastContentAt)} ms, too fast to tell: the upstream may be instant (a sim with timeScale 0?); probe a model whose answer takes a second or more (--model)`;
  } else if (timing.bursts === 1 || timing.largestBurstShare >= 0.9) {
    verdict = 'buffered';
    summary = `${Math.round(timing.largestBurstShare * 100)}% of ${n} content events arrived together after ${Math.round(timing.ttftMs!)} ms: something buffers the stream`;
  } else if (timing.bursts >= n / 2) {
    verdict = 'incremental';
    summary = `${n} content events arrived in ${timing.bursts} separate bursts: tokens arrive incrementally`;
  } else {
    verdict = 'chunked';
    summary = `${n} content events arrived in only ${timing.bursts} bursts: something releases the stream in pieces (a fixed-size buffer)`;
  }
  const likelyCulprit = verdict === 'buffered' || verdict === 'chunked' ? (findings[0] ?? 'nothing in the headers: look for a buffering proxy, CDN or load balancer in front of the gateway') : undefined;
  return { ...timing, verdict, summary, findings, likelyCulprit };
}
