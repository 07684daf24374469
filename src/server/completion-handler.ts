import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cancellation } from '../core/cancellation.js';
import { BreakwaterError, toBreakwaterError } from '../core/errors.js';
import { randomHex128 } from '../core/ids.js';
import type { CanonicalRequest, CanonicalResponse, Dialect, StreamPart } from '../core/types.js';
import type { Gateway, GenerateResult, RequestContext } from '../gateway/gateway.js';
import { validateIdempotencyKey, type IdempotencyCoordinator } from '../gateway/idempotency.js';
import type { KeyRecord } from '../store/interfaces.js';
import type { ChatCodec, StreamEncoder } from './chat-codecs.js';
import type { SseEvent } from '../protocols/sse.js';
import { ClientRequestContext } from './client-request-context.js';
import { readJsonBody, sendJson } from './http-io.js';
import { handleIdempotentCompletion } from './idempotent-completion.js';
import { serveResumableStream, wantsResumable, type ResumableStreamSettings } from './resumable-completion.js';
import { SseWriter } from './sse-writer.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import type { StreamMetrics, StreamOutcome } from '../observability/stream-metrics.js';

/** What a completion handler needs from the server. */
export interface CompletionHandlerDeps {
  gateway: () => Gateway;
  maxBodyBytes: number;
  idempotency: IdempotencyCoordinator;
  /** The `stream` settings. */
  stream: ResumableStreamSettings;
  /** Resumable streams (SPEC ST-11); without it `x-breakwater-resumable` is ignored. */
  hub?: StreamHub;
  /** Stream TTFT, gap and duration metrics (SPEC SA-1). */
  metrics?: StreamMetrics;
}

/** Per-request facts the server has already established. */
export interface HandlerRequest {
  requestId: string;
  key: KeyRecord;
  receivedAt: number;
  receivedAtMs: number;
  /** Aborted when the client goes away before the response is finished (made on first use). */
  signal: AbortSignal;
  /** The same cancellation without an AbortSignal, for the hot path. */
  cancel?: Cancellation | undefined;
}

/** Handles `POST` of a chat request in one client dialect, streaming or not. */
export async function handleCompletion(
  codec: ChatCodec,
  deps: CompletionHandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  info: HandlerRequest,
): Promise<void> {
  const body = await readJsonBody(req, deps.maxBodyBytes);
  const request = codec.parseRequest(body);
  const ctx = requestContextFor(req, info, codec.dialect, request, res);
  const idempotencyKey = validateIdempotencyKey(singleHeader(req, 'idempotency-key'));
  if (idempotencyKey !== undefined) {
    await handleIdempotentCompletion(codec, deps, res, { body, request, ctx, key: idempotencyKey, owner: info.key });
    return;
  }
  if (request.stream && deps.hub && wantsResumable(req.headers['x-breakwater-resumable'])) {
    await serveResumableStream(codec, { gateway: deps.gateway, hub: deps.hub, stream: deps.stream, metrics: deps.metrics }, res, request, ctx);
    return;
  }
  const gateway = deps.gateway();
  if (!request.stream) {
    const result = await gateway.generate(request, ctx);
    sendCompletion(codec, res, request, result.response, metaHeaders(result));
    return;
  }
  await serveStream({ heartbeat: codec.heartbeat, encoder: () => encoderFor(codec, request) }, deps, res, request, ctx);
}

/** The gateway's view of one client request. */
export function requestContextFor(req: IncomingMessage, info: HandlerRequest, dialect: Dialect, request: CanonicalRequest, res?: ServerResponse): RequestContext {
  return new ClientRequestContext(req, info, dialect, request, res);
}

/** Sends a complete answer in the client's dialect. */
export function sendCompletion(codec: ChatCodec, res: ServerResponse, request: CanonicalRequest, response: CanonicalResponse, headers: Record<string, string>): void {
  sendJson(res, 200, codec.toResponse({ ...response, id: codec.idPrefix + randomHex128() }, request.model), headers);
}

function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The headers every served answer carries (SPEC API-9, API-3). */
export function metaHeaders(result: Pick<GenerateResult, 'servedBy' | 'overheadMs' | 'droppedParams' | 'attempts' | 'route'>): Record<string, string> {
  let attempts = 0;
  for (const attempt of result.attempts) if (attempt.outcome !== 'skipped') attempts++;
  const headers: Record<string, string> = {
    'x-breakwater-served-by': result.servedBy,
    'x-breakwater-attempts': String(attempts),
    // Upstream time is summed from attempt timers; rounding can make a tiny overhead dip below 0.
    'x-breakwater-overhead-ms': Math.max(0, result.overheadMs).toFixed(3),
  };
  if (result.route !== undefined) headers['x-breakwater-route'] = result.route;
  if (result.droppedParams.length > 0) headers['x-breakwater-dropped-params'] = result.droppedParams.join(',');
  return headers;
}

/** Writes a whole stream whose headers can go out now (replays, attached duplicates). */
export async function writeStream(
  codec: ChatCodec,
  res: ServerResponse,
  request: CanonicalRequest,
  parts: AsyncIterable<StreamPart>,
  headers: Record<string, string>,
  signal: AbortSignal,
  heartbeatMs: number,
): Promise<void> {
  const writer = new SseWriter(res, codec.heartbeat, heartbeatMs);
  writer.commit(headers);
  await writer.relay(encoderFor(codec, request), parts, signal);
}

/**
 * How long after receipt a stream that opens with events of the gateway's own (`response.created`)
 * waits for the upstream's first token before sending them without it: SPEC CS-5's 200 ms for a
 * first event, less room for the write. Waiting at all lets a fast answer's headers name what
 * served it (API-9).
 */
const FIRST_EVENT_MS = 150;

/**
 * When such a stream's opening events are due: `due` resolves {@link FIRST_EVENT_MS} after receipt
 * (sooner with a shorter `earlyCommitMs`), but only once `onAdmitted` was called — the gateway
 * calls it as `RequestContext.onAdmitted` — so a refused request keeps its HTTP status (ST-5).
 */
export function firstEventAfterAdmission(receivedAt: number, earlyCommitMs: number): { onAdmitted: () => void; due: Promise<void> } {
  let onAdmitted!: () => void;
  const admitted = new Promise<void>((resolve) => (onAdmitted = resolve));
  const dueAt = receivedAt + Math.min(FIRST_EVENT_MS, earlyCommitMs);
  const due = admitted.then(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, dueAt - performance.now())).unref()));
  return { onAdmitted, due };
}

/** A client dialect's stream: its heartbeat, a fresh encoder, and events it may open with (SPEC CS-5). */
export interface StreamDialect<E extends StreamEncoder = StreamEncoder> {
  heartbeat: string;
  encoder: () => E;
  /** Events of the gateway's own that may go out before the first token, once admission passed. */
  opening?: (encoder: E) => SseEvent[];
}

/**
 * Serves a streamed request. Headers go out at the first content, or after `earlyCommitMs` with a
 * heartbeat if the upstream is still silent (SPEC ST-5): until then a failure keeps its HTTP
 * status, after it the failure is an in-band error in the client's dialect. A dialect with
 * `opening` events sends them once admission passed and {@link FIRST_EVENT_MS} went by.
 */
export async function serveStream<E extends StreamEncoder>(
  dialect: StreamDialect<E>,
  deps: Pick<CompletionHandlerDeps, 'gateway' | 'stream' | 'metrics'>,
  res: ServerResponse,
  request: CanonicalRequest,
  ctx: RequestContext,
): Promise<void> {
  const writer = new SseWriter(res, dialect.heartbeat, deps.stream.heartbeatMs);
  const observer = deps.metrics?.start(routeLabel(ctx.endpoint), ctx.receivedAtMs);
  const encoder = dialect.encoder();
  let outcome: StreamOutcome = 'failed';
  const early = setTimeout(() => writer.commitEarly(), deps.stream.earlyCommitMs);
  let upstreamSilent = true;
  const opening = dialect.opening;
  if (opening) {
    const first = firstEventAfterAdmission(ctx.receivedAt, deps.stream.earlyCommitMs);
    ctx.onAdmitted = first.onAdmitted;
    void first.due.then(() => {
      // Also after an early commit's heartbeat (a short `earlyCommitMs`, or admission that waited
      // in a lane): while the upstream is silent no content can have gone out yet.
      if (!upstreamSilent || res.writableEnded) return;
      writer.commit({});
      writer.writeEvents(opening(encoder));
    });
  }
  let session;
  try {
    try {
      session = await deps.gateway().stream(request, ctx);
    } catch (error) {
      if (!writer.isCommitted) throw error;
      await writer.relay(encoder, inBandError(toBreakwaterError(error)), ctx.signal);
      return;
    } finally {
      clearTimeout(early);
      upstreamSilent = false;
    }
    const opened = session;
    observer?.setDeployment(opened.servedBy, opened.cold);
    const onAbort = () => opened.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      writer.commit(metaHeaders(opened));
      outcome = await writer.relay(encoder, opened.parts, ctx.signal, observer);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  } finally {
    observer?.end(outcome);
  }
}

/** The `route` metric label of an endpoint: its path, never its query. */
export function routeLabel(endpoint: string): string {
  const query = endpoint.indexOf('?');
  return query < 0 ? endpoint : endpoint.slice(0, query);
}

/** A fresh encoder for one client stream of `codec`'s dialect. */
export function encoderFor(codec: ChatCodec, request: CanonicalRequest): StreamEncoder {
  return codec.createEncoder({
    id: codec.idPrefix + randomHex128(),
    publicModel: request.model,
    created: Math.floor(Date.now() / 1000),
    includeUsage: Boolean(request.includeUsage),
  });
}

async function* inBandError(error: BreakwaterError): AsyncGenerator<StreamPart> {
  yield { type: 'error', error };
}
