import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import { randomHex128 } from '../core/ids.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart } from '../core/types.js';
import type { Gateway, GenerateResult, RequestContext } from '../gateway/gateway.js';
import { validateIdempotencyKey, type IdempotencyCoordinator } from '../gateway/idempotency.js';
import { formatSseEvent } from '../protocols/sse.js';
import type { KeyRecord } from '../store/interfaces.js';
import type { ChatCodec } from './chat-codecs.js';
import { readJsonBody, sendJson } from './http-io.js';
import { handleIdempotentCompletion } from './idempotent-completion.js';
import { tagsFor, timeoutFor, upstreamHeadersFor } from './request-context.js';

/** What a completion handler needs from the server. */
export interface CompletionHandlerDeps {
  gateway: () => Gateway;
  maxBodyBytes: number;
  idempotency: IdempotencyCoordinator;
}

/** Per-request facts the server has already established. */
export interface HandlerRequest {
  requestId: string;
  key: KeyRecord;
  receivedAt: number;
  receivedAtMs: number;
  /** Aborted when the client goes away before the response is finished. */
  signal: AbortSignal;
}

/** SSE response headers (SPEC ST-6): no caching, no transformation, no proxy buffering. */
const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
});

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
  const ctx: RequestContext = {
    requestId: info.requestId,
    key: info.key,
    dialect: codec.dialect,
    endpoint: req.url ?? '',
    signal: info.signal,
    receivedAt: info.receivedAt,
    receivedAtMs: info.receivedAtMs,
    upstreamHeaders: upstreamHeadersFor(req),
    tags: tagsFor(req, request.metadata),
    endUser: request.user ?? request.metadata?.user_id,
    timeoutMs: timeoutFor(req),
  };
  const idempotencyKey = validateIdempotencyKey(singleHeader(req, 'idempotency-key'));
  if (idempotencyKey !== undefined) {
    await handleIdempotentCompletion(codec, deps, res, { body, request, ctx, key: idempotencyKey, owner: info.key });
    return;
  }
  const gateway = deps.gateway();
  if (!request.stream) {
    const result = await gateway.generate(request, ctx);
    sendCompletion(codec, res, request, result.response, metaHeaders(result));
    return;
  }
  const session = await gateway.stream(request, ctx);
  const onAbort = () => session.abort(info.signal.reason);
  info.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await writeStream(codec, res, request, session.parts, metaHeaders(session), info.signal);
  } finally {
    info.signal.removeEventListener('abort', onAbort);
  }
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
export function metaHeaders(result: Pick<GenerateResult, 'servedBy' | 'overheadMs' | 'droppedParams' | 'attempts'>): Record<string, string> {
  let attempts = 0;
  for (const attempt of result.attempts) if (attempt.outcome !== 'skipped') attempts++;
  const headers: Record<string, string> = {
    'x-breakwater-served-by': result.servedBy,
    'x-breakwater-attempts': String(attempts),
    'x-breakwater-overhead-ms': result.overheadMs.toFixed(3),
  };
  if (result.droppedParams.length > 0) headers['x-breakwater-dropped-params'] = result.droppedParams.join(',');
  return headers;
}

/**
 * Writes parts as SSE in the client's dialect, one write per part so every event leaves whole and
 * at once (SPEC ST-6), waiting for the socket when it is full. Stops when the client leaves.
 */
export async function writeStream(
  codec: ChatCodec,
  res: ServerResponse,
  request: CanonicalRequest,
  parts: AsyncIterable<StreamPart>,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<void> {
  res.writeHead(200, { ...SSE_HEADERS, ...headers });
  const encoder = codec.createEncoder({
    id: codec.idPrefix + randomHex128(),
    publicModel: request.model,
    created: Math.floor(Date.now() / 1000),
    includeUsage: Boolean(request.includeUsage),
  });
  try {
    for await (const part of parts) {
      const events = encoder.encode(part);
      if (events.length === 0) continue;
      let chunk = '';
      for (const event of events) chunk += formatSseEvent(event);
      if (!res.write(chunk)) await drained(res);
      if (signal.aborted) break;
    }
  } finally {
    if (!res.writableEnded) res.end();
  }
}

/** Waits for the socket to take more, or for the client to leave (then nobody will drain it). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Thrown by handlers that need a JSON object body. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BreakwaterError('invalid_request', 'the request body must be a JSON object', { param: 'body' });
  }
  return body as Record<string, unknown>;
}
