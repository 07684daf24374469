import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BreakwaterError, isBreakwaterError, toBreakwaterError } from '../core/errors.js';
import { anthropicErrorType, parseAnthropicMessagesRequest } from '../protocols/anthropic-messages.js';
import { parseOpenAIChatRequest } from '../protocols/openai-chat.js';
import { parseOpenAIEmbeddingRequest, toOpenAIEmbeddingResponse } from '../protocols/openai-embeddings.js';
import { createSimEngine, type SimEngine, type SimPlanOptions } from './sim-engine.js';
import { simErrorBody, type SimDialect } from './sim-error-body.js';
import { SIM_MODEL_NAMES, splitSimModelName } from './sim-models.js';
import type { SimScriptResolver } from './sim-script.js';
import { deliverSimPlan, pause, resetConnection, sendJson, type SimExchange } from './sim-server-wire.js';

/** Options of {@link startSimServer}. */
export interface SimServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  seed: number;
  /** Multiplies simulated latencies (0 = instant); fault delays stay absolute. */
  timeScale: number;
  /** Share an engine (fault counters, journal) with in-process adapters. */
  engine?: SimEngine;
  scripts?: SimScriptResolver;
}

/** A running simulator. */
export interface SimServer {
  /** `http://host:port`, without a trailing slash or `/v1`. */
  url: string;
  port: number;
  engine: SimEngine;
  /** Stops listening and drops every open connection (hung ones included). */
  close(): Promise<void>;
}

/** Bodies past this size are refused, as the gateway refuses them (SPEC §5). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BreakwaterError('request_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new BreakwaterError('invalid_request', 'the request body is not valid JSON');
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sendError(res: ServerResponse, dialect: SimDialect, error: BreakwaterError): void {
  if (res.headersSent) return void res.destroy();
  const type = dialect === 'anthropic' ? anthropicErrorType(error.code) : error.status < 500 ? 'invalid_request_error' : 'server_error';
  const text = { openaiType: type, openaiCode: error.code, anthropicType: type, message: error.message, param: error.param ?? null };
  sendJson(res, error.status, simErrorBody(dialect, text));
}

/** `GET /v1/models`, readable by both SDKs (OpenAI `object`/`owned_by`, Anthropic `type`/`display_name`). */
function modelList(): Record<string, unknown> {
  const data = SIM_MODEL_NAMES.map((id) => ({
    id,
    object: 'model',
    created: 1_704_067_200,
    owned_by: 'breakwater-sim',
    type: 'model',
    display_name: id,
    created_at: '2024-01-01T00:00:00Z',
  }));
  return { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null };
}

/**
 * Starts `breakwater sim serve` (SPEC SIM-11): the OpenAI and Anthropic formats over the simulated
 * models, any API key accepted, faults per request (`x-sim-fault`, `model@fault`) or at runtime
 * (`POST /_sim/faults {"fault": "...", "model"?: "..."}`, `DELETE /_sim/faults`), and the call
 * journal at `GET /_sim/journal` (`DELETE` clears it).
 */
export async function startSimServer(options: SimServerOptions): Promise<SimServer> {
  const engine = options.engine ?? createSimEngine({ seed: options.seed, scripts: options.scripts });
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const exchange: SimExchange = { req, res, signal: controller.signal };
    handle(engine, options.timeScale, exchange).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 'openai', toBreakwaterError(error));
      else resetConnection(exchange);
    });
  });
  server.listen(options.port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    engine,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(engine: SimEngine, timeScale: number, exchange: SimExchange): Promise<void> {
  const { req, res } = exchange;
  const path = (req.url ?? '/').split('?')[0];
  const route = `${req.method} ${path}`;
  const dialect: SimDialect = path === '/v1/messages' ? 'anthropic' : 'openai';
  try {
    switch (route) {
      case 'POST /v1/chat/completions':
      case 'POST /v1/messages':
        return await handleChat(engine, timeScale, dialect, exchange);
      case 'POST /v1/embeddings':
        return await handleEmbeddings(engine, timeScale, exchange);
      case 'GET /v1/models':
        return sendJson(res, 200, modelList());
      case 'GET /_sim/journal':
        return sendJson(res, 200, { entries: engine.getJournal() });
      case 'DELETE /_sim/journal':
        engine.clearJournal();
        return sendJson(res, 200, { cleared: true });
      case 'POST /_sim/faults':
        return await handleSetFaults(engine, exchange);
      case 'DELETE /_sim/faults':
        engine.clearFaults();
        return sendJson(res, 200, { cleared: true });
      default:
        throw new BreakwaterError('not_found', `the simulator has no route ${route}`);
    }
  } catch (error) {
    if (!isBreakwaterError(error)) throw error;
    sendError(res, dialect, error);
  }
}

function planOptions(req: IncomingMessage, dialect: SimDialect, timeScale: number): SimPlanOptions {
  return { faultSpec: headerOf(req, 'x-sim-fault'), scenario: headerOf(req, 'x-sim-scenario'), dialect, timeScale };
}

async function handleChat(engine: SimEngine, timeScale: number, dialect: SimDialect, exchange: SimExchange): Promise<void> {
  const body = await readJson(exchange.req);
  const request = dialect === 'anthropic' ? parseAnthropicMessagesRequest(body) : parseOpenAIChatRequest(body);
  const plan = engine.plan(request, planOptions(exchange.req, dialect, timeScale));
  const publicModel = splitSimModelName(request.model).model;
  const wire = { dialect, publicModel, stream: request.stream, includeUsage: request.includeUsage === true };
  await deliverSimPlan(plan, wire, exchange);
}

async function handleEmbeddings(engine: SimEngine, timeScale: number, exchange: SimExchange): Promise<void> {
  const request = parseOpenAIEmbeddingRequest(await readJson(exchange.req));
  const plan = engine.planEmbeddings(request, planOptions(exchange.req, 'openai', timeScale));
  if (plan.kind !== 'embeddings') {
    return deliverSimPlan(plan, { dialect: 'openai', publicModel: plan.model, stream: false, includeUsage: false }, exchange);
  }
  if (!(await pause(plan.delayMs, exchange.signal))) return;
  const body = toOpenAIEmbeddingResponse(plan.response, splitSimModelName(request.model).model, request.encodingFormat);
  sendJson(exchange.res, 200, body, { 'x-request-id': plan.requestId });
}

async function handleSetFaults(engine: SimEngine, exchange: SimExchange): Promise<void> {
  const body = (await readJson(exchange.req)) as { fault?: unknown; model?: unknown } | null;
  if (typeof body?.fault !== 'string') {
    throw new BreakwaterError('invalid_request', 'send {"fault": "<spec>", "model"?: "<name>"}', { param: 'fault' });
  }
  engine.setFaults(body.fault, typeof body.model === 'string' ? { model: body.model } : {});
  sendJson(exchange.res, 200, { ok: true });
}
