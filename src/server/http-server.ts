import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { BreakwaterError, toBreakwaterError } from '../core/errors.js';
import { Cancellation } from '../core/cancellation.js';
import type { Dialect } from '../core/types.js';
import { createAccessLog, tenantOfResponse, type AccessLog } from './access-log.js';
import { coldInitMsOf } from '../gateway/warmth.js';
import type { HandlerRequest } from './completion-handler.js';
import { markReceivedAt, sendJson } from './http-io.js';
import { errorHeaders, renderErrorBody } from './render-error.js';
import { requestIdFor } from './request-context.js';
import { Router, type Handler, type RouteParams } from './router.js';
import type { KeyRecord } from '../store/interfaces.js';

const headerText = (value: number | string | string[] | undefined): string | undefined => (value === undefined ? undefined : String(value));

/** Per-request facts every handler gets; `key` is filled by authenticated routes. */
export type RequestInfo = Omit<HandlerRequest, 'key'> & { dialect: Dialect };

/** A route handler. */
export type RouteHandler = Handler<RequestInfo>;

/** Server settings (the `server:` config section). */
export interface HttpServerOptions {
  keepAliveTimeoutMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  accessLog: boolean;
}

/** A running HTTP front door. */
export interface HttpServer {
  server: Server;
  router: Router<RouteHandler>;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** True once draining began (readiness turns 503). */
  readonly draining: boolean;
  /** Requests still being handled. */
  readonly inFlight: number;
  /** Requests received since start (only grows): the idle warm-up tells a quiet server by it. */
  readonly started: number;
  /** Stops accepting, lets in-flight requests finish for up to `ms`, then closes what is left. */
  drain(ms: number): Promise<void>;
}

function dialectFor(path: string): Dialect {
  return path === '/v1/messages' ? 'anthropic-messages' : 'openai-chat';
}

/**
 * Sends an error in the client's dialect, or ends a response whose headers already went out.
 * Given the receipt time, it reports the gateway's overhead like every answer does (SPEC OBS-9).
 */
export function sendError(res: ServerResponse, thrown: unknown, dialect: Dialect, receivedAt?: number): void {
  const error = toBreakwaterError(thrown);
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  const headers = errorHeaders(error);
  if (receivedAt !== undefined) headers['x-breakwater-overhead-ms'] = Math.max(0, performance.now() - receivedAt - (error.details.upstreamMs ?? 0)).toFixed(3);
  sendJson(res, error.status, renderErrorBody(error, dialect), headers);
}

/**
 * What the server knows of a request before its handler runs. A class for its lazy prototype
 * `signal` getter (why not a literal with a getter: scripts/lint.mjs). `key` is declared so that
 * `withKey` filling it in keeps one shape for all instances.
 */
class ServerRequestInfo implements RequestInfo {
  key: KeyRecord | undefined = undefined;

  constructor(
    readonly requestId: string,
    readonly receivedAt: number,
    readonly receivedAtMs: number,
    readonly cancel: Cancellation,
    readonly dialect: Dialect,
    readonly params: RouteParams,
  ) {}

  get signal(): AbortSignal {
    return this.cancel.signal;
  }
}

/**
 * The node:http front door: request ids, routing with 404/405, error rendering per dialect, client
 * disconnect signals, keep-alive and header timeouts, an access log without bodies, and draining.
 */
export function createHttpServer(options: HttpServerOptions, logger: Logger, accessLog: AccessLog = createAccessLog(logger)): HttpServer {
  const router = new Router<RouteHandler>();
  let draining = false;
  let inFlight = 0;
  let started = 0;
  let idle: (() => void) | undefined;

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    inFlight++;
    started++;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const requestId = requestIdFor(req);
    const dialect = dialectFor(path);
    const cancel = new Cancellation();
    res.setHeader('x-breakwater-request-id', requestId);
    markReceivedAt(res, receivedAt);
    if (draining) res.setHeader('connection', 'close');
    // 'close' fires once per response; `on` skips the wrapper `once` allocates.
    res.on('close', () => {
      if (!res.writableFinished) cancel.abort(new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false }));
      inFlight--;
      if (options.accessLog) {
        accessLog({
          requestId,
          method: req.method,
          path,
          status: res.statusCode,
          ms: Math.round((performance.now() - receivedAt) * 100) / 100,
          aborted: !res.writableFinished,
          tenant: tenantOfResponse(res),
          route: headerText(res.getHeader('x-breakwater-route')),
          servedBy: headerText(res.getHeader('x-breakwater-served-by')),
          code: headerText(res.getHeader('x-breakwater-error-code')),
          coldInitMs: coldInitMsOf(res),
        });
      }
      if (inFlight === 0) idle?.();
    });
    try {
      const match = router.match(req.method ?? 'GET', path);
      if (match.kind === 'not_found') throw new BreakwaterError('not_found', `no route for ${req.method} ${path}`);
      if (match.kind === 'method_not_allowed') {
        res.setHeader('allow', match.allowed.join(', '));
        throw new BreakwaterError('method_not_allowed', `${req.method} is not allowed on ${path}; use ${match.allowed.join(' or ')}`);
      }
      const info = new ServerRequestInfo(requestId, receivedAt, Date.now(), cancel, dialect, match.params);
      await match.handler(req, res, info);
    } catch (thrown) {
      const error = toBreakwaterError(thrown);
      if (error.code === 'internal_error') logger.error({ requestId, err: error.cause }, 'unhandled error');
      sendError(res, error, dialect, receivedAt);
    }
  }

  const server = createServer({ keepAliveTimeout: options.keepAliveTimeoutMs, headersTimeout: options.headersTimeoutMs, requestTimeout: options.requestTimeoutMs }, (req, res) => {
    void onRequest(req, res);
  });
  server.on('clientError', (_error, socket) => {
    // Malformed HTTP never reaches a handler; answer 400 when the socket can still take it.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });

  // lint-allow-literal-accessor: one per server
  return {
    server,
    router,
    get draining() {
      return draining;
    },
    get inFlight() {
      return inFlight;
    },
    get started() {
      return started;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async drain(ms) {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          timer.unref();
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
