import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import { SSE_HEARTBEAT_COMMENT } from '../protocols/sse.js';
import { parseLimits, runView, type RunService } from '../runs/run-service.js';
import type { KeyRecord, KeyScope } from '../store/interfaces.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import { parseCursor, subscribe } from '../streaming/stream-subscription.js';
import { requireVirtualKey, type Authenticator } from './auth.js';
import { readJsonBody, sendJson } from './http-io.js';
import type { HttpServer, RequestInfo } from './http-server.js';
import type { RouteParams } from './router.js';
import { SseWriter } from './sse-writer.js';
import { queryOf } from './stream-routes.js';

/** What the run routes need. */
export interface RunRouteDeps {
  authenticate: Authenticator;
  runs: RunService;
  hub: StreamHub;
  maxBodyBytes: number;
  heartbeatMs: number;
  subscriberQueueEvents: number;
  /** How often a subscriber polls the log while the run is owned elsewhere or parked. */
  pollMs: number;
}

type Info = RequestInfo & { params: RouteParams };
type Handler = (req: IncomingMessage, res: ServerResponse, info: Info, key: KeyRecord) => Promise<void>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const MAX_LIST = 100;

function keyed(deps: RunRouteDeps, scope: KeyScope, handler: Handler) {
  return async (req: IncomingMessage, res: ServerResponse, info: Info) => handler(req, res, info, await requireVirtualKey(req, deps.authenticate, scope));
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BreakwaterError('invalid_request', 'the body must be a JSON object', { param: 'body' });
  return body as Record<string, unknown>;
}

function nameParam(value: string, param: string): string {
  if (!NAME.test(value)) throw new BreakwaterError('invalid_request', `${param} must be 1-128 letters, digits, '.', '_', ':' or '-'`, { param });
  return value;
}

function optionalBody(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === '0')) return Promise.resolve({});
  return readJsonBody(req, maxBytes).then(objectBody);
}

async function createRun(deps: RunRouteDeps, req: IncomingMessage, res: ServerResponse, info: Info, key: KeyRecord): Promise<void> {
  const body = objectBody(await readJsonBody(req, deps.maxBodyBytes));
  if (typeof body.agent !== 'string' || body.agent === '') throw new BreakwaterError('invalid_request', 'agent is required: the name of an agent a worker hosts', { param: 'agent' });
  const header = req.headers['idempotency-key'];
  const idempotencyKey = body.idempotency_key ?? (typeof header === 'string' ? header : undefined);
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey === '' || idempotencyKey.length > 256)) {
    throw new BreakwaterError('invalid_request', 'idempotency_key must be a string of 1-256 characters', { param: 'idempotency_key' });
  }
  const { run, created } = await deps.runs.create(key, { agent: body.agent, input: body.input, idempotencyKey, limits: parseLimits(body.limits) }, info.requestId);
  sendJson(res, created ? 202 : 200, runView(run), { location: `/v1/runs/${run.id}` });
}

/**
 * `GET /v1/runs/{id}/events` (SPEC ST-2): replays the run's events after `Last-Event-ID` (or
 * `?after=`), then tails them live — from memory when the run executes in this process, from the
 * log otherwise — with heartbeats, until the run ends. Disconnecting only detaches.
 */
async function runEvents(deps: RunRouteDeps, req: IncomingMessage, res: ServerResponse, info: Info, key: KeyRecord): Promise<void> {
  const header = req.headers['last-event-id'];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  const after = lastEventId !== undefined ? parseCursor(lastEventId, 'Last-Event-ID') : parseCursor(queryOf(req).get('after') ?? undefined, 'after');
  const run = await deps.runs.get(key, info.params.id!);
  const agent = await deps.runs.describeAgent(run.agent).catch(() => undefined);
  const writer = new SseWriter(res, SSE_HEARTBEAT_COMMENT, deps.heartbeatMs);
  writer.commit({ 'x-breakwater-run-id': run.id });
  try {
    await subscribe(deps.hub, run.id, after, writer.sink(info.signal), {
      maxLagEvents: deps.subscriberQueueEvents,
      followMs: deps.pollMs,
      keepWhenDetached: agent?.onDetach !== 'cancel',
    });
  } finally {
    writer.close();
  }
}

/** Registers `/v1/runs` and its sub-resources (SPEC LR-1, LR-13, ST-2, ST-4). */
export function registerRunRoutes(http: HttpServer, deps: RunRouteDeps): void {
  const { router } = http;
  router.on('POST', '/v1/runs', keyed(deps, 'runs', (req, res, info, key) => createRun(deps, req, res, info, key)));
  router.on(
    'GET',
    '/v1/runs',
    keyed(deps, 'runs', async (req, res, _info, key) => {
      const query = queryOf(req);
      const limit = Math.min(MAX_LIST, Math.max(1, Number(query.get('limit') ?? 20) || 20));
      const runs = await deps.runs.list(key, query.get('status') ?? undefined, limit);
      sendJson(res, 200, { object: 'list', data: runs.map(runView) });
    }),
  );
  router.on('GET', '/v1/runs/:id', keyed(deps, 'runs', async (_req, res, info, key) => sendJson(res, 200, runView(await deps.runs.get(key, info.params.id!)))));
  router.on('GET', '/v1/runs/:id/events', keyed(deps, 'runs', (req, res, info, key) => runEvents(deps, req, res, info, key)));
  router.on('POST', '/v1/runs/:id/cancel', keyed(deps, 'runs', async (_req, res, info, key) => sendJson(res, 200, runView(await deps.runs.cancel(key, info.params.id!)))));
  router.on(
    'POST',
    '/v1/runs/:id/signals/:name',
    keyed(deps, 'runs', async (req, res, info, key) => {
      const body = await optionalBody(req, deps.maxBodyBytes);
      const run = await deps.runs.signal(key, info.params.id!, nameParam(info.params.name!, 'name'), body.payload);
      sendJson(res, 202, { object: 'run.signal', run_id: run.id, name: info.params.name, status: run.status });
    }),
  );
  router.on(
    'POST',
    '/v1/runs/:id/approvals/:aid',
    keyed(deps, 'runs:approve', async (req, res, info, key) => {
      const body = await optionalBody(req, deps.maxBodyBytes);
      if (typeof body.approved !== 'boolean') throw new BreakwaterError('invalid_request', 'approved (true or false) is required', { param: 'approved' });
      if (body.comment !== undefined && typeof body.comment !== 'string') throw new BreakwaterError('invalid_request', 'comment must be a string', { param: 'comment' });
      const decision = { approved: body.approved, ...(body.comment !== undefined ? { comment: body.comment as string } : {}) };
      const result = await deps.runs.approve(key, info.params.id!, nameParam(info.params.aid!, 'approval_id'), decision);
      sendJson(res, 200, { object: 'run.approval', run_id: result.run.id, approval_id: info.params.aid, decision: result.decision, status: result.run.status });
    }),
  );
}
