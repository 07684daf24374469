import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { systemClock } from '../core/clock.js';
import type { StreamPart } from '../core/types.js';
import { createAnthropicMessagesStreamEncoder, toAnthropicMessagesResponse } from '../protocols/anthropic-messages.js';
import { createOpenAIChatStreamEncoder, toOpenAIChatResponse } from '../protocols/openai-chat.js';
import { formatSseEvent, type SseEvent } from '../protocols/sse.js';
import { collectSimResponse } from './sim-collect.js';
import type { SimDialect } from './sim-error-body.js';
import type { SimAnswerPlan, SimPlan } from './sim-plan.js';
import { firstTokenIndex, isSimContentPart } from './sim-plan.js';

/** One HTTP exchange the simulator answers, with a signal that fires when the client goes. */
export interface SimExchange {
  req: IncomingMessage;
  res: ServerResponse;
  signal: AbortSignal;
}

/** What the wire writer needs to know about the client's request. */
export interface SimWireRequest {
  dialect: SimDialect;
  publicModel: string;
  stream: boolean;
  includeUsage: boolean;
}

const MALFORMED_DATA = 'data: {not json\n\n';

/** Resolves after `ms` of real time; false when the client left first. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  return systemClock.sleep(ms, signal).then(
    () => true,
    () => false,
  );
}

/** Waits until the client goes (hang and stall: the simulator never speaks again). */
async function silence(signal: AbortSignal): Promise<void> {
  if (!signal.aborted) await once(signal, 'abort');
}

async function write(res: ServerResponse, text: string): Promise<void> {
  if (!res.write(text)) await once(res, 'drain').catch(() => undefined);
}

/** Kills the connection: a TCP RST where the platform allows it, so clients see ECONNRESET. */
export function resetConnection(exchange: SimExchange): void {
  const socket = exchange.req.socket;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/** Sends a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Delivers a plan on the wire (SPEC SIM-10): reset destroys the socket before headers, hang never
 * answers, errors are JSON in the dialect's shape, answers are JSON or SSE with real-time delays
 * and the plan's wire faults applied.
 */
export async function deliverSimPlan(plan: SimPlan, request: SimWireRequest, exchange: SimExchange): Promise<void> {
  switch (plan.kind) {
    case 'reset':
      resetConnection(exchange);
      return;
    case 'hang':
      await silence(exchange.signal);
      return;
    case 'http-error':
      sendJson(exchange.res, plan.status, plan.body, plan.headers);
      return;
    case 'answer':
      if (request.stream) await streamAnswer(plan, request, exchange);
      else await sendAnswer(plan, request, exchange);
      if (exchange.signal.aborted && plan.journal.outcome === 'ok') plan.journal.outcome = 'aborted';
  }
}

function requestIdHeader(plan: SimAnswerPlan, dialect: SimDialect): Record<string, string> {
  return dialect === 'anthropic' ? { 'request-id': plan.requestId } : { 'x-request-id': plan.requestId };
}

/**
 * The non-streamed answer arrives whole after the full generation time. Wire faults still bite:
 * a cut sends half the body then drops the connection, a stall sends half and goes silent, a
 * malformed answer is a body that is not JSON.
 */
async function sendAnswer(plan: SimAnswerPlan, request: SimWireRequest, exchange: SimExchange): Promise<void> {
  const { res, signal } = exchange;
  if (!(await pause(plan.timing.reduce((sum, ms) => sum + ms, 0), signal))) return;
  const response = collectSimResponse(plan.parts, Math.floor(Date.now() / 1000));
  const body =
    request.dialect === 'anthropic' ? toAnthropicMessagesResponse(response, request.publicModel) : toOpenAIChatResponse(response, request.publicModel);
  const text = plan.malformedAtChunk !== undefined ? '{not json' : JSON.stringify(body);
  const length = Buffer.byteLength(text);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': length, ...requestIdHeader(plan, request.dialect) });
  if (plan.cutAfterChunks === undefined && plan.stallAfterChunks === undefined) {
    res.end(text);
    return;
  }
  await write(res, text.slice(0, Math.floor(text.length / 2)));
  if (plan.cutAfterChunks !== undefined) await resetAfterFlush(exchange);
  else await silence(signal);
}

function encoderFor(plan: SimAnswerPlan, request: SimWireRequest): { encode(part: StreamPart): SseEvent[] } {
  const { publicModel, includeUsage } = request;
  if (request.dialect === 'anthropic') return createAnthropicMessagesStreamEncoder({ id: plan.requestId, publicModel });
  return createOpenAIChatStreamEncoder({ id: plan.requestId, publicModel, created: Math.floor(Date.now() / 1000), includeUsage });
}

function isTerminator(event: SseEvent): boolean {
  return event.data === '[DONE]' || event.event === 'message_stop';
}

async function streamAnswer(plan: SimAnswerPlan, request: SimWireRequest, exchange: SimExchange): Promise<void> {
  const { res, signal } = exchange;
  const headers = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' };
  res.writeHead(200, { ...headers, ...requestIdHeader(plan, request.dialect) });
  res.flushHeaders();
  const encoder = encoderFor(plan, request);
  const first = firstTokenIndex(plan.parts);
  let chunks = 0;
  for (let i = 0; i < plan.parts.length; i++) {
    const part = plan.parts[i]!;
    if (!(await pause(plan.timing[i]!, signal))) return;
    const content = isSimContentPart(part);
    if (content && plan.malformedAtChunk === chunks + 1) {
      await write(res, request.dialect === 'anthropic' ? `event: content_block_delta\n${MALFORMED_DATA}` : MALFORMED_DATA);
    } else {
      const events = encoder.encode(part).filter((event) => !(plan.omitTerminator && isTerminator(event)));
      if (events.length > 0) await write(res, events.map(formatSseEvent).join(''));
    }
    if (content) chunks++;
    // Wire faults count from the headers: `after=0` fires before the first content chunk.
    if (!content && i !== first - 1) continue;
    if (plan.cutAfterChunks === chunks) return resetAfterFlush(exchange);
    if (plan.stallAfterChunks === chunks) return silence(signal);
  }
  res.end();
}

/** Drops the connection once what was written has left, so the client sees the chunks, then the cut. */
async function resetAfterFlush(exchange: SimExchange): Promise<void> {
  await new Promise<void>((resolve) => exchange.res.write('', () => resolve()));
  resetConnection(exchange);
}
