import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { CallContext, ProviderAdapter } from '../core/provider.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart } from '../core/types.js';
import {
  anthropicJsonToolName,
  anthropicStreamError,
  createAnthropicMessagesStreamDecoder,
  errorCodeForAnthropicError,
  parseAnthropicMessagesResponse,
  toAnthropicMessagesRequest,
  type AnthropicDecodeOptions,
} from '../protocols/anthropic-messages.js';
import { parseRateLimitHeaders } from '../protocols/rate-limit-headers.js';
import { HttpAdapterBase } from './http-adapter-base.js';
import { DeferredParts, SsePartStream } from './sse-part-stream.js';
import { UpstreamHttp, upstreamErrorMessage, type UpstreamPoolOptions } from './upstream-http.js';

/** Anthropic's public API endpoint. */
export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com/v1';
/** The `anthropic-version` header sent unless configured otherwise. */
export const ANTHROPIC_API_VERSION = '2023-06-01';

/** Options of {@link createAnthropicAdapter}. */
export interface AnthropicAdapterOptions {
  /** The configured provider name. */
  id: string;
  /** Up to and including the version segment; default {@link ANTHROPIC_BASE_URL}. */
  baseUrl?: string;
  apiKey?: string;
  apiVersion?: string;
  headers?: Record<string, string>;
  maxConnections: number;
  dispatcher?: Dispatcher;
  /** For model discovery, which has no call context. */
  clock?: Clock;
  connectTimeoutMs?: number;
  pool?: UpstreamPoolOptions | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Classifies an Anthropic 400 whose `invalid_request_error` is really a context-length or
 * content-policy failure, keeping the provider's message. Everything else (529 overloaded
 * included) falls through to the status-based default.
 */
export function classifyAnthropicError(status: number, body: unknown, text: string): BreakwaterError | undefined {
  if (status !== 400) return undefined;
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const message = upstreamErrorMessage(status, body, text);
  const code = errorCodeForAnthropicError(typeof error.type === 'string' ? error.type : 'invalid_request_error', message);
  if (code !== 'context_length_exceeded' && code !== 'content_policy_violation') return undefined;
  return new BreakwaterError(code, message, { upstreamStatus: status, retryable: false });
}

/** The Anthropic Messages adapter (SPEC PV-2): `POST /messages`, streamed or not, and model discovery. */
class AnthropicAdapter extends HttpAdapterBase implements ProviderAdapter {
  constructor(options: AnthropicAdapterOptions) {
    const headers: Record<string, string> = { ...options.headers, 'anthropic-version': options.apiVersion ?? ANTHROPIC_API_VERSION };
    if (options.apiKey) headers['x-api-key'] = options.apiKey;
    const http = new UpstreamHttp({
      baseUrl: options.baseUrl ?? ANTHROPIC_BASE_URL,
      maxConnections: options.maxConnections,
      headers,
      classifyError: classifyAnthropicError,
      provider: options.id,
      dispatcher: options.dispatcher,
      connectTimeoutMs: options.connectTimeoutMs,
      pool: options.pool,
    });
    super(options.id, http, options.clock ?? systemClock, '/models?limit=1000');
  }

  async generate(request: CanonicalRequest, ctx: CallContext): Promise<CanonicalResponse> {
    try {
      const { body, decode } = this.encode(request, ctx.upstreamModel, false);
      const { headers, body: answer } = await this.http.postJson('/messages', body, this.untilDone(ctx));
      if (isRecord(answer) && answer.type === 'error') throw anthropicStreamError(answer);
      return this.withRateLimit(parseAnthropicMessagesResponse(answer, decode), headers, ctx);
    } catch (err) {
      throw this.failure(err);
    }
  }

  stream(request: CanonicalRequest, ctx: CallContext): AsyncIterable<StreamPart> {
    return new DeferredParts(() => this.openStream(request, ctx));
  }

  private async openStream(request: CanonicalRequest, ctx: CallContext): Promise<AsyncIterator<StreamPart>> {
    const { body, decode } = this.encode(request, ctx.upstreamModel, true);
    let response;
    try {
      response = await this.http.postSse('/messages', body, ctx);
    } catch (err) {
      throw this.failure(err);
    }
    const rateLimit = parseRateLimitHeaders(response.headers, ctx.clock.now());
    const decoder = createAnthropicMessagesStreamDecoder(decode);
    let finished = false;
    const annotate = (parts: StreamPart[]): StreamPart[] => {
      for (const part of parts) {
        if (part.type === 'start' && rateLimit) part.rateLimit = rateLimit;
        else if (part.type === 'finish') finished = true;
      }
      return parts;
    };
    // Read on after `finish` until EOF so the connection goes back to the pool.
    return new SsePartStream(
      response.events,
      { push: (event) => annotate(decoder.push(event)), end: () => annotate(decoder.end()) },
      // A stall or reset after a complete answer costs the connection, not the answer.
      (err) => (finished ? undefined : this.failure(err)),
    );
  }

  private encode(request: CanonicalRequest, upstreamModel: string, stream: boolean): { body: Record<string, unknown>; decode: AnthropicDecodeOptions } {
    const body = toAnthropicMessagesRequest(request, upstreamModel);
    if (stream) body.stream = true;
    else delete body.stream;
    const unwrapJsonTool = anthropicJsonToolName(request);
    return { body, decode: unwrapJsonTool === undefined ? {} : { unwrapJsonTool } };
  }


}

/** Creates the Anthropic adapter. Anthropic has no embeddings endpoint, so there is no `embed`. */
export function createAnthropicAdapter(options: AnthropicAdapterOptions): ProviderAdapter {
  return new AnthropicAdapter(options);
}
