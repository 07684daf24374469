import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway, RequestContext } from '../gateway/gateway.js';
import type { IdempotencyCoordinator } from '../gateway/idempotency.js';
import { parseOpenAIEmbeddingRequest, toOpenAIEmbeddingResponse } from '../protocols/openai-embeddings.js';
import type { KeyRecord, KeyScope } from '../store/interfaces.js';
import { requireVirtualKey, type Authenticator } from './auth.js';
import { markTenant } from './access-log.js';
import { tenantOf } from '../tenancy/tenant-of.js';
import { anthropicMessagesCodec, openAIChatCodec, type ChatCodec } from './chat-codecs.js';
import { handleCompletion, metaHeaders } from './completion-handler.js';
import { readJsonBody, sendJson } from './http-io.js';
import type { HttpServer, RequestInfo } from './http-server.js';
import type { RouteParams } from './router.js';
import { priorityFor, tagsFor, upstreamHeadersFor } from './request-context.js';
import { handleStreamCancel, handleStreamResume } from './stream-routes.js';
import { handleCancelResponse, handleCreateResponse, handleDeleteResponse, handleGetResponse } from './responses-routes.js';
import type { ResponseStore } from '../store/interfaces.js';
import type { Clock } from '../core/clock.js';
import type { StreamMetrics } from '../observability/stream-metrics.js';
import type { Config } from '../config/schema.js';
import type { StreamHub } from '../streaming/stream-hub.js';

/** A readiness check result (SPEC OBS-5). */
export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

/** What the routes need from the process. */
export interface RouteDeps {
  authenticate: Authenticator;
  /** The current gateway; a config reload swaps it. */
  gateway: () => Gateway;
  /** Public model names served now. */
  models: () => string[];
  readiness: () => Promise<ReadinessReport>;
  maxBodyBytes: number;
  idempotency: IdempotencyCoordinator;
  stream: Config['stream'];
  hub: StreamHub;
  responses: ResponseStore;
  clock: Clock;
  metrics: StreamMetrics;
  /** Serves `GET /metrics` in the Prometheus text format. */
  handleMetrics: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

type Info = RequestInfo & { params: RouteParams };
type KeyedHandler = (req: IncomingMessage, res: ServerResponse, info: Info & { key: KeyRecord }) => Promise<void>;

function withKey(deps: RouteDeps, scope: KeyScope, handler: KeyedHandler) {
  return async (req: IncomingMessage, res: ServerResponse, info: Info) => {
    const key = await requireVirtualKey(req, deps.authenticate, scope);
    markTenant(res, tenantOf(key));
    // The key is added to the server's own object rather than to a copy: copying would call its
    // lazy `signal` getter and make an AbortSignal that most requests never need.
    const keyed = info as Info & { key: KeyRecord };
    keyed.key = key;
    await handler(req, res, keyed);
  };
}

function completion(deps: RouteDeps, codec: ChatCodec): KeyedHandler {
  const handlerDeps = { gateway: deps.gateway, maxBodyBytes: deps.maxBodyBytes, idempotency: deps.idempotency, stream: deps.stream, hub: deps.hub, metrics: deps.metrics };
  return (req, res, info) => handleCompletion(codec, handlerDeps, req, res, info);
}

/** Registers the public API, health and readiness routes. */
export function registerRoutes(http: HttpServer, deps: RouteDeps): void {
  const { router } = http;
  router.on('POST', '/v1/chat/completions', withKey(deps, 'chat', completion(deps, openAIChatCodec)));
  router.on('POST', '/v1/messages', withKey(deps, 'chat', completion(deps, anthropicMessagesCodec)));
  router.on('POST', '/v1/embeddings', withKey(deps, 'embeddings', (req, res, info) => handleEmbeddings(deps, req, res, info)));
  router.on('POST', '/v1/responses', withKey(deps, 'chat', (req, res, info) => handleCreateResponse(deps, req, res, info)));
  router.on('GET', '/v1/responses/:id', withKey(deps, 'chat', (req, res, info) => handleGetResponse(deps, req, res, info.params.id!, info)));
  router.on('POST', '/v1/responses/:id/cancel', withKey(deps, 'chat', (_req, res, info) => handleCancelResponse(deps, res, info.params.id!, info)));
  router.on('DELETE', '/v1/responses/:id', withKey(deps, 'chat', (_req, res, info) => handleDeleteResponse(deps, res, info.params.id!, info)));
  router.on('GET', '/v1/streams/:id', withKey(deps, 'chat', (req, res, info) => handleStreamResume(deps, req, res, info.params.id!, info.key, info.signal)));
  router.on('POST', '/v1/streams/:id/cancel', withKey(deps, 'chat', (_req, res, info) => handleStreamCancel(deps, res, info.params.id!, info.key)));
  router.on('GET', '/v1/models', withKey(deps, 'chat', async (req, res, info) => handleModels(deps, req, res, info.key)));
  router.on('GET', '/metrics', (req, res) => deps.handleMetrics(req, res));
  router.on('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
  router.on('GET', '/readyz', async (_req, res) => {
    const report = http.draining ? { ready: false, checks: { draining: { ok: false, detail: 'shutting down' } } } : await deps.readiness();
    sendJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not_ready', checks: report.checks });
  });
}

async function handleEmbeddings(deps: RouteDeps, req: IncomingMessage, res: ServerResponse, info: Info & { key: KeyRecord }): Promise<void> {
  const request = parseOpenAIEmbeddingRequest(await readJsonBody(req, deps.maxBodyBytes));
  const ctx: RequestContext = {
    requestId: info.requestId,
    key: info.key,
    dialect: 'openai-chat',
    endpoint: '/v1/embeddings',
    signal: info.signal,
    receivedAt: info.receivedAt,
    receivedAtMs: info.receivedAtMs,
    upstreamHeaders: upstreamHeadersFor(req, info.requestId),
    tags: tagsFor(req, undefined),
    endUser: request.user,
    priority: priorityFor(req),
    response: res,
  };
  const result = await deps.gateway().embed(request, ctx);
  sendJson(res, 200, toOpenAIEmbeddingResponse(result.embedding, request.model, request.encodingFormat), metaHeaders(result));
}

/** `GET /v1/models` in the OpenAI shape, or the Anthropic one when the client sends `anthropic-version`. */
function handleModels(deps: RouteDeps, req: IncomingMessage, res: ServerResponse, key: KeyRecord): void {
  const allowed = key.allowedModels;
  const models = allowed ? deps.models().filter((m) => allowed.includes(m)) : deps.models();
  if (req.headers['anthropic-version'] !== undefined) {
    const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: '1970-01-01T00:00:00Z' }));
    sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
    return;
  }
  sendJson(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'breakwater' })) });
}
