import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import { randomHex128 } from '../core/ids.js';
import type { CanonicalRequest } from '../core/types.js';
import type { Gateway, GenerateResult, RequestContext, StreamSession } from '../gateway/gateway.js';
import { formatSseEvent } from '../protocols/sse.js';
import type { KeyRecord } from '../store/interfaces.js';
import type { ChatCodec } from './chat-codecs.js';
import { readJsonBody, sendJson } from './http-io.js';
import { tagsFor, timeoutFor, upstreamHeadersFor } from './request-context.js';

/** What a completion handler needs from the server. */
export interface CompletionHandlerDeps {
  gateway: () => Gateway;
  maxBodyBytes: number;
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
  const gateway = deps.gateway();
  if (!request.stream) {
    const result = await gateway.generate(request, ctx);
    const payload = codec.toResponse({ ...result.response, id: codec.idPrefix + randomHex128() }, request.model);
    sendJson(res, 200, payload, metaHeaders(result));
    return;
  }
  const session = await gateway.stream(request, ctx);
  await writeStream(codec, res, request, session, info.signal);
}

/** The headers every served answer carries (SPEC API-9, API-3). */
export function metaHeaders(result: Pick<GenerateResult, 'servedBy' | 'attempts' | 'overheadMs' | 'droppedParams'>): Record<string, string> {
  const headers: Record<string, string> = {
    'x-breakwater-served-by': result.servedBy,
    'x-breakwater-attempts': String(result.attempts.length),
    'x-breakwater-overhead-ms': result.overheadMs.toFixed(3),
  };
  if (result.droppedParams.length > 0) headers['x-breakwater-dropped-params'] = result.droppedParams.join(',');
  return headers;
}

async function writeStream(codec: ChatCodec, res: ServerResponse, request: CanonicalRequest, session: StreamSession, signal: AbortSignal): Promise<void> {
  const onAbort = () => session.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  res.writeHead(200, { ...SSE_HEADERS, ...metaHeaders(session) });
  const encoder = codec.createEncoder({
    id: codec.idPrefix + randomHex128(),
    publicModel: request.model,
    created: Math.floor(Date.now() / 1000),
    includeUsage: Boolean(request.includeUsage),
  });
  try {
    for await (const part of session.parts) {
      const events = encoder.encode(part);
      if (events.length === 0) continue;
      let chunk = '';
      for (const event of events) chunk += formatSseEvent(event);
      if (!res.write(chunk)) await drained(res);
      if (signal.aborted) break;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
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
