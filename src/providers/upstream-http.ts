import { buildConnector, Pool, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { BreakwaterError, toBreakwaterError, upstreamHttpError } from '../core/errors.js';
import type { CallContext } from '../core/provider.js';
import type { HeaderBag } from '../protocols/rate-limit-headers.js';
import { parseRateLimitHeaders } from '../protocols/rate-limit-headers.js';
import { Attempt } from './upstream-attempt.js';
import { dispatchForSse, type SseEventSource } from './upstream-sse-call.js';
import { dispatchForText, type TextLimits } from './upstream-text-call.js';

/** Classifies a non-2xx answer before the status-based default (e.g. context length on a 400). */
export type UpstreamErrorClassifier = (status: number, body: unknown, text: string) => BreakwaterError | undefined;

/** Options of {@link UpstreamHttp}. */
export interface UpstreamHttpOptions {
  /** Base URL up to and including the version segment, e.g. https://api.openai.com/v1. */
  baseUrl: string;
  maxConnections: number;
  /** Sent on every call (credentials included); their values are scrubbed from error messages. */
  headers?: Record<string, string>;
  classifyError?: UpstreamErrorClassifier;
  /** The configured provider name, for error details. */
  provider: string;
  /** Replaces the pooled connection (tests). */
  dispatcher?: Dispatcher;
  /** TCP+TLS connect limit, enforced by undici per pool (SPEC UP-4 connect). Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest successful JSON body accepted. Default 64 MiB. */
  maxResponseBytes?: number;
  /** How the pooled connections are kept and watched (keep-warm, cold-start accounting). */
  pool?: UpstreamPoolOptions | undefined;
}

/** Pool tuning for keep-warm and cold-start accounting (SPEC CS-2, CS-3, CS-4). */
export interface UpstreamPoolOptions {
  /** Keep an idle connection this long when the server sends no `Keep-Alive` hint (undici's default is 4 s). */
  keepAliveMs?: number | undefined;
  /** Told how long each new connection (TCP and TLS) took to set up. */
  onConnect?: ((ms: number) => void) | undefined;
}

/** A connector that reports each connection's set-up time; undici's own does the work. */
function timedConnector(timeoutMs: number, onConnect: (ms: number) => void): buildConnector.connector {
  const connect = buildConnector({ timeout: timeoutMs });
  return (options, callback) => {
    const startedAt = performance.now();
    connect(options, (error, socket) => {
      if (!error) onConnect(performance.now() - startedAt);
      (callback as (error: Error | null, socket: unknown) => void)(error, socket);
    });
  };
}

/** A complete JSON answer. */
export interface UpstreamJsonResponse {
  status: number;
  headers: HeaderBag;
  body: unknown;
}

/** A streaming answer whose headers have arrived; consume `events` or call its `return()`. */
export interface UpstreamSseResponse {
  headers: HeaderBag;
  events: SseEventSource;
}

const ERROR_BODY_LIMIT = 64 * 1024;
/** Headers a call context must never override: credentials and routing stay ours. */
const PROTECTED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-api-key', 'api-key', 'host', 'content-length', 'content-type']);

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = value;
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The provider's own words from OpenAI `{error:{message}}`, Anthropic `{type:'error',error:{message}}` and kin. */
const DISCOVERY_TIMEOUTS = Object.freeze({ connectMs: 10_000, headersMs: 10_000, firstTokenMs: 10_000, idleMs: 10_000, totalMs: 30_000 });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Names the provider on an error raised below the adapter (decoders know nothing of it). */
export function withProvider(err: unknown, provider: string): BreakwaterError {
  const error = toBreakwaterError(err);
  return error.details.provider === undefined && error.code !== 'internal_error' ? error.withDetails({ provider }) : error;
}

export function upstreamErrorMessage(status: number, body: unknown, text: string): string {
  if (isRecord(body)) {
    const error = body.error;
    if (isRecord(error) && typeof error.message === 'string' && error.message !== '') return error.message;
    if (typeof error === 'string' && error !== '') return error;
    if (typeof body.message === 'string' && body.message !== '') return body.message;
    if (typeof body.detail === 'string' && body.detail !== '') return body.detail;
  }
  const trimmed = text.trim();
  return trimmed === '' ? `upstream answered HTTP ${status}` : trimmed.slice(0, 300);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The one place upstream HTTP happens: a keep-alive undici pool per origin, capped at
 * `maxConnections`, no redirects (undici 7 follows none unless its redirect interceptor is
 * composed, and none is), split timeouts driven by `ctx.clock` (SPEC UP-4), and every non-2xx
 * or transport failure turned into a `BreakwaterError` whose message carries neither URL nor key.
 */
export class UpstreamHttp {
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly origin: string;
  private readonly host: string;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly secrets: string[];
  private readonly provider: string;
  private readonly classifyError: UpstreamErrorClassifier | undefined;
  private readonly maxResponseBytes: number;
  private readonly textLimits: TextLimits;

  constructor(options: UpstreamHttpOptions) {
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.host = url.host;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.provider = options.provider;
    this.classifyError = options.classifyError;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.textLimits = { okBytes: this.maxResponseBytes, errorBytes: ERROR_BODY_LIMIT };
    this.headers = { 'user-agent': 'breakwater', ...lowerCaseKeys(options.headers) };
    this.secrets = Object.values(this.headers)
      .flatMap((value) => [value, value.replace(/^(Bearer|Basic)\s+/i, '')])
      .filter((value) => value.length >= 8 && value !== 'breakwater');
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Pool(this.origin, {
        connections: options.maxConnections,
        connectTimeout: options.connectTimeoutMs ?? 10_000,
        ...(options.pool?.onConnect ? { connect: timedConnector(options.connectTimeoutMs ?? 10_000, options.pool.onConnect) } : {}),
        ...(options.pool?.keepAliveMs ? { keepAliveTimeout: options.pool.keepAliveMs, keepAliveMaxTimeout: Math.max(options.pool.keepAliveMs, 600_000) } : {}),
        // Our clock-driven timers govern; undici's real-time ones would race them.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
  }

  /** POSTs JSON and reads the whole JSON answer (headers, idle and total timeouts apply). */
  postJson(path: string, body: unknown, ctx: CallContext, headers?: Record<string, string>): Promise<UpstreamJsonResponse> {
    return this.json('POST', path, body, ctx, headers);
  }

  /** GETs JSON, e.g. `/models` for discovery. */
  async getJson(path: string, ctx: CallContext): Promise<UpstreamJsonResponse> {
    return this.json('GET', path, undefined, ctx, undefined);
  }

  /**
   * POSTs JSON and resolves once response headers arrive, so a non-2xx throws before any event.
   * First-token, idle and total timeouts keep running while `events` is consumed.
   */
  async postSse(path: string, body: unknown, ctx: CallContext, headers?: Record<string, string>): Promise<UpstreamSseResponse> {
    const attempt = new Attempt(ctx, this.provider);
    const timers = { headers: attempt.timer(ctx.timeouts.headersMs, 'headers_timeout'), firstToken: attempt.timer(ctx.timeouts.firstTokenMs, 'first_token_timeout') };
    try {
      const options: Dispatcher.DispatchOptions = {
        origin: this.origin,
        path: this.basePath + path,
        method: 'POST',
        headers: this.requestHeaders(ctx, headers, 'text/event-stream', body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 0,
        bodyTimeout: 0,
      };
      const head = await dispatchForSse(this.dispatcher, options, attempt, timers, ERROR_BODY_LIMIT);
      if ('text' in head) throw this.errorFor(head.status, head.headers, head.text, ctx);
      return { headers: head.headers, events: head.events };
    } catch (err) {
      const error = attempt.failure(err);
      attempt.finish();
      throw error;
    }
  }

  /** Waits for in-flight calls, then closes pooled connections (only a pool this instance made). */
  /**
   * The model ids an upstream lists (`{data: [{id}]}`, the shape OpenAI and Anthropic share), for
   * discovery and `breakwater doctor`.
   */
  async listModelIds(path: string, signal: AbortSignal, clock: Clock): Promise<string[]> {
    const ctx: CallContext = { upstreamModel: '', signal, clock, requestId: 'model-discovery', timeouts: DISCOVERY_TIMEOUTS };
    const { body } = await this.getJson(path, ctx);
    const data = isObject(body) && Array.isArray(body.data) ? body.data : [];
    return data.flatMap((model) => (isObject(model) && typeof model.id === 'string' ? [model.id] : []));
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async json(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    ctx: CallContext,
    headers: Record<string, string> | undefined,
  ): Promise<UpstreamJsonResponse> {
    const attempt = new Attempt(ctx, this.provider);
    const { headersMs, totalMs } = ctx.timeouts;
    // A header timer that cannot end before the total one (the usual non-streamed case) would
    // never fire first: skip arming it.
    const headersTimer = totalMs > 0 && Number.isFinite(totalMs) && headersMs >= totalMs ? undefined : attempt.timer(headersMs, 'headers_timeout');
    try {
      const options: Dispatcher.DispatchOptions = {
        origin: this.origin,
        path: this.basePath + path,
        method,
        headers: this.requestHeaders(ctx, headers, 'application/json', body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 0,
        bodyTimeout: 0,
      };
      const answer = await dispatchForText(this.dispatcher, options, attempt, this.textLimits, (status) => {
        headersTimer?.();
        if (status < 300) attempt.startIdle();
      });
      if (answer.status >= 300) throw this.errorFor(answer.status, answer.headers, answer.text, ctx);
      const { text } = answer;
      if (answer.truncated) {
        throw new BreakwaterError('upstream_error', `upstream '${this.provider}' answered with more than ${this.maxResponseBytes} bytes`, {
          reason: 'response_too_large',
          provider: this.provider,
        });
      }
      const parsed = text.trim() === '' ? undefined : parseJson(text);
      if (parsed === undefined && text.trim() !== '') {
        throw new BreakwaterError('upstream_error', `upstream '${this.provider}' answered with malformed JSON`, {
          reason: 'malformed_response',
          provider: this.provider,
        });
      }
      return { status: answer.status, headers: answer.headers, body: parsed };
    } catch (err) {
      throw attempt.failure(err);
    } finally {
      attempt.finish();
    }
  }

  private requestHeaders(ctx: CallContext, extra: Record<string, string> | undefined, accept: string, hasBody: boolean): Record<string, string> {
    // Object.assign, not a spread: on Node 20's V8, adding keys to a spread copy takes a slow
    // path (~0.5 us per added key, ~1.5% of gateway CPU here); an assigned copy does not.
    const headers: Record<string, string> = Object.assign({}, this.headers);
    const given = ctx.headers;
    if (given) {
      for (const key in given) {
        const name = key.toLowerCase();
        if (!PROTECTED_HEADERS.has(name)) headers[name] = given[key]!;
      }
    }
    if (extra) for (const key in extra) headers[key.toLowerCase()] = extra[key]!;
    headers.accept = accept;
    if (hasBody) headers['content-type'] = 'application/json';
    return headers;
  }

  /** The error for a non-2xx answer whose body (up to ERROR_BODY_LIMIT) was read. */
  private errorFor(status: number, headers: HeaderBag, text: string, ctx: CallContext): BreakwaterError {
    if (status < 400) {
      return new BreakwaterError('upstream_error', `upstream '${this.provider}' answered with a redirect (HTTP ${status}); redirects are never followed, check its baseUrl`, {
        reason: 'redirect',
        provider: this.provider,
        upstreamStatus: status,
        retryable: false,
      });
    }
    const body = parseJson(text);
    const scrubbedText = this.scrub(text);
    const classified = this.classifyError?.(status, body, scrubbedText);
    if (classified) {
      const message = this.scrub(classified.message);
      const error = message === classified.message ? classified : new BreakwaterError(classified.code, message, {
        ...classified.details,
        param: classified.param,
        cause: classified.cause,
        retryable: classified.retryable,
        headers: classified.headers,
      });
      return error.withDetails({ provider: this.provider, upstreamStatus: status });
    }
    const retryAfterMs = parseRateLimitHeaders(headers, ctx.clock.now())?.retryAfterMs;
    const details = retryAfterMs === undefined ? { provider: this.provider } : { provider: this.provider, retryAfterMs };
    return upstreamHttpError(status, this.scrub(upstreamErrorMessage(status, body, text)), details);
  }

  /** Keeps the provider's words but never our credentials or the upstream's address. */
  private scrub(message: string): string {
    let out = message;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    if (out.includes(this.origin)) out = out.split(this.origin).join('[upstream]');
    if (out.includes(this.host)) out = out.split(this.host).join('[upstream]');
    return out.replace(/\b(?:sk|bwa?)[-_][A-Za-z0-9_*-]{8,}/g, '[redacted]');
  }
}
