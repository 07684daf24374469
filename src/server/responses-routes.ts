import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { CanonicalRequest, Message } from '../core/types.js';
import { detachedContext, type Gateway, type RequestContext } from '../gateway/gateway.js';
import {
  createOpenAIResponsesStreamEncoder,
  newResponseId,
  parseOpenAIResponsesRequest,
  responseOutputToMessages,
  toOpenAIResponsesResponse,
  withConversationHistory,
  type ParsedResponsesRequest,
  type ResponseObject,
  type ResponsesStreamEncoder,
} from '../protocols/openai-responses.js';
import { SSE_HEARTBEAT_COMMENT } from '../protocols/sse.js';
import type { KeyRecord, ResponseStore } from '../store/interfaces.js';
import type { LiveStream } from '../streaming/live-stream.js';
import type { StreamMetrics } from '../observability/stream-metrics.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import { checkSubscriberRoom, parseCursor, subscribe } from '../streaming/stream-subscription.js';
import { tenantOf } from '../tenancy/tenant-of.js';
import { firstEventAfterAdmission, metaHeaders, requestContextFor, serveStream, type HandlerRequest } from './completion-handler.js';
import { readJsonBody, sendJson } from './http-io.js';
import { attachCreator } from './resumable-completion.js';
import { SseWriter } from './sse-writer.js';
import { queryOf } from './stream-routes.js';

/** What the Responses routes need. */
export interface ResponsesDeps {
  gateway: () => Gateway;
  hub: StreamHub;
  responses: ResponseStore;
  clock: Clock;
  maxBodyBytes: number;
  stream: { heartbeatMs: number; earlyCommitMs: number; subscriberQueueEvents: number; retentionMs: number; maxSubscribers: number };
  metrics?: StreamMetrics;
}

/** Everything one create call decided. */
interface Creation {
  id: string;
  tenant: string;
  parsed: ParsedResponsesRequest;
  request: CanonicalRequest;
  createdAt: number;
  ctx: RequestContext;
}

const notFound = (id: string) => new BreakwaterError('not_found', `no response with id ${id}`, { param: 'response_id' });

/**
 * `POST /v1/responses` (SPEC API-4): plain requests answer at once; streamed and background ones
 * run in the stream hub, so a client can leave and come back with
 * `GET /v1/responses/{id}?stream=true&starting_after=N`. With `store: false` nothing is kept and
 * a streamed answer is a plain stream that a disconnect aborts (SPEC SEC-5, SA-5).
 */
export async function handleCreateResponse(deps: ResponsesDeps, req: IncomingMessage, res: ServerResponse, info: HandlerRequest): Promise<void> {
  const parsed = parseOpenAIResponsesRequest(await readJsonBody(req, deps.maxBodyBytes));
  const tenant = tenantOf(info.key);
  let request = parsed.request;
  if (parsed.previousResponseId !== undefined) {
    const previous = await deps.responses.getResponse(parsed.previousResponseId);
    if (!previous || previous.tenant !== tenant) {
      throw new BreakwaterError('not_found', `no response with id ${parsed.previousResponseId}`, { param: 'previous_response_id' });
    }
    request = withConversationHistory(parsed, JSON.parse(previous.conversation) as Message[]);
  }
  const creation: Creation = { id: newResponseId(), tenant, parsed, request, createdAt: Math.floor(deps.clock.now() / 1000), ctx: requestContextFor(req, info, 'openai-responses', request, res) };
  const headers: Record<string, string> = parsed.ignored.length > 0 ? { 'x-breakwater-dropped-params': parsed.ignored.join(',') } : {};

  if (!request.stream && !parsed.background) {
    const result = await deps.gateway().generate(request, creation.ctx);
    const response = toOpenAIResponsesResponse(result.response, { id: creation.id, createdAt: creation.createdAt, publicModel: request.model, echo: parsed.echo });
    if (parsed.store) await storeResponse(deps, creation, response);
    sendJson(res, 200, response, { ...metaHeaders(result), ...headers });
    return;
  }
  if (!parsed.store) {
    const encoder = () => createOpenAIResponsesStreamEncoder({ id: creation.id, publicModel: request.model, createdAt: creation.createdAt, echo: parsed.echo });
    await serveStream({ heartbeat: SSE_HEARTBEAT_COMMENT, encoder, opening: (open) => open.begin() }, deps, res, request, creation.ctx);
    return;
  }
  const { live, admitted } = await startResponseStream(deps, creation);
  if (!request.stream) {
    sendJson(res, 200, live.snapshot!(), headers);
    return;
  }
  // `response.created` is ours, not the upstream's, so it need not wait for the first token: the
  // headers go out at the first token or 150 ms after receipt, whichever comes first, but
  // never before admission passed, so a refused request keeps its HTTP status (SPEC CS-5, ST-5).
  await attachCreator(deps, res, live, { heartbeat: SSE_HEARTBEAT_COMMENT, headers, signal: creation.ctx.signal, background: parsed.background, commitAt: admitted });
}

/**
 * Starts the producer of a stored streamed or background response. `admitted` is when its opening
 * events are due ({@link firstEventAfterAdmission}); it never settles if the request is refused.
 */
async function startResponseStream(deps: ResponsesDeps, creation: Creation): Promise<{ live: LiveStream; admitted: Promise<void> }> {
  const { parsed, request } = creation;
  const encoder: ResponsesStreamEncoder = createOpenAIResponsesStreamEncoder({
    id: creation.id,
    publicModel: request.model,
    createdAt: creation.createdAt,
    echo: parsed.echo,
    initialStatus: parsed.background ? 'queued' : 'in_progress',
  });
  const gateway = deps.gateway();
  const first = firstEventAfterAdmission(creation.ctx.receivedAt, deps.stream.earlyCommitMs);
  const live = await deps.hub.start({
    id: creation.id,
    tenant: creation.tenant,
    kind: 'responses',
    meta: { dialect: 'openai-responses', model: request.model },
    encoder,
    initialEvents: encoder.begin(),
    snapshot: () => encoder.snapshot(),
    keepWhenDetached: parsed.background,
    observer: deps.metrics?.start('/v1/responses', creation.ctx.receivedAtMs),
    open: async (signal) => {
      const session = await gateway.stream(request, { ...detachedContext(creation.ctx, signal), onAdmitted: first.onAdmitted });
      return { parts: session.parts, headers: metaHeaders(session), servedBy: session.servedBy, cold: session.cold };
    },
    onEnd: () => storeResponse(deps, creation, encoder.snapshot()),
  });
  // A queued response must be readable by id right away, also from a process that restarts.
  if (parsed.background) await storeResponse(deps, creation, encoder.snapshot());
  return { live, admitted: first.due };
}

async function storeResponse(deps: ResponsesDeps, creation: Creation, response: ResponseObject): Promise<void> {
  const { parsed, request } = creation;
  // The conversation a follow-up continues: this turn's input and output, without its instructions.
  const input = parsed.instructions === undefined ? request.messages : request.messages.slice(1);
  const conversation = [...input, ...responseOutputToMessages(response.output)];
  const now = deps.clock.now();
  await deps.responses.putResponse({
    id: creation.id,
    tenant: creation.tenant,
    status: response.status,
    body: JSON.stringify(response),
    conversation: JSON.stringify(conversation),
    createdAt: creation.createdAt * 1000,
    expiresAt: now + deps.stream.retentionMs,
  });
}

/** The response as of now: live from this process's producer, else as stored. */
async function currentResponse(deps: ResponsesDeps, id: string, key: KeyRecord): Promise<{ body: unknown; streamed: boolean }> {
  const tenant = tenantOf(key);
  const live = deps.hub.get(id);
  if (live && live.record.tenant === tenant && live.snapshot) return { body: live.snapshot(), streamed: true };
  const stored = await deps.responses.getResponse(id);
  if (!stored || stored.tenant !== tenant) throw notFound(id);
  const stream = await deps.hub.log.getStream(id);
  return { body: JSON.parse(stored.body), streamed: stream !== undefined };
}

/**
 * `GET /v1/responses/{id}`: the Response object; with `?stream=true` its event stream again,
 * `response.created` first, then the events after `starting_after`, then live ones (SPEC API-4).
 */
export async function handleGetResponse(deps: ResponsesDeps, req: IncomingMessage, res: ServerResponse, id: string, info: HandlerRequest): Promise<void> {
  const query = queryOf(req);
  const current = await currentResponse(deps, id, info.key);
  if (query.get('stream') !== 'true') {
    sendJson(res, 200, current.body);
    return;
  }
  if (!current.streamed) {
    throw new BreakwaterError('invalid_request', 'only responses created with stream or background can be streamed again', { param: 'stream' });
  }
  const after = parseCursor(query.get('starting_after') ?? undefined, 'starting_after');
  checkSubscriberRoom(deps.hub, id, deps.stream.maxSubscribers);
  const [created] = after >= 0 ? await deps.hub.log.read(id, -1, 1) : [];
  const writer = new SseWriter(res, SSE_HEARTBEAT_COMMENT, deps.stream.heartbeatMs);
  writer.commit({});
  try {
    await subscribe(deps.hub, id, after, writer.sink(info.signal), {
      maxLagEvents: deps.stream.subscriberQueueEvents,
      prelude: created ? [created] : undefined,
      keepWhenDetached: (current.body as ResponseObject).background,
    });
  } finally {
    writer.close();
  }
}

/** `POST /v1/responses/{id}/cancel`: idempotent; a finished response is returned as it ended. */
export async function handleCancelResponse(deps: ResponsesDeps, res: ServerResponse, id: string, info: HandlerRequest): Promise<void> {
  await currentResponse(deps, id, info.key);
  // Wherever it is produced: here, or on another replica through the cancel bus.
  await deps.hub.cancelAnywhere(id);
  sendJson(res, 200, (await currentResponse(deps, id, info.key)).body);
}

/** `DELETE /v1/responses/{id}`: cancels it if running, then forgets it and its events. */
export async function handleDeleteResponse(deps: ResponsesDeps, res: ServerResponse, id: string, info: HandlerRequest): Promise<void> {
  await currentResponse(deps, id, info.key);
  const live = deps.hub.get(id);
  if (live && deps.hub.cancel(id, 'the response was deleted')) await live.ended;
  await deps.responses.deleteResponse(id);
  await deps.hub.log.deleteStream(id);
  sendJson(res, 200, { id, object: 'response.deleted', deleted: true });
}
