import type { Dispatcher } from 'undici';
import { systemClock, type Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { CallContext, ProviderAdapter } from '../core/provider.js';
import { estimatedUsage, estimateTokens, outputCharacters } from '../core/usage-estimate.js';
import type {
  CanonicalRequest,
  CanonicalResponse,
  EmbeddingRequest,
  EmbeddingResponse,
  FinishReason,
  RateLimitInfo,
  StreamPart,
  Usage,
} from '../core/types.js';
import {
  classifyOpenAIStreamError,
  convertOpenAIUsage,
  createOpenAIChatStreamDecoder,
  mapOpenAIFinishReason,
  parseOpenAIChatResponse,
  toOpenAIChatRequest,
} from '../protocols/openai-chat.js';
import { parseOpenAIEmbeddingResponse, toOpenAIEmbeddingRequest } from '../protocols/openai-embeddings.js';
import { parseRateLimitHeaders } from '../protocols/rate-limit-headers.js';
import { COMPAT_FLAVORS, type CompatFlavor } from './compat-flavors.js';
import { HttpAdapterBase } from './http-adapter-base.js';
import { DeferredParts, SsePartStream } from './sse-part-stream.js';
import { UpstreamHttp, upstreamErrorMessage, type UpstreamPoolOptions } from './upstream-http.js';

/** The named differences between OpenAI-compatible servers (see `compat-flavors.ts`). */
export interface OpenAICompatibleHooks {
  /** Adjusts the encoded upstream body (it is fresh; mutating it is fine). */
  transformRequestBody(body: Record<string, unknown>, req: CanonicalRequest): Record<string, unknown>;
  /** Reads a `usage` object; `undefined` when it has no counts. */
  convertUsage(rawUsage: unknown): Usage | undefined;
  mapFinishReason(raw: string | null | undefined): FinishReason;
  /** Classifies a non-2xx answer (or an in-stream error) before the status-based default. */
  classifyError(status: number, body: unknown, text: string): BreakwaterError | undefined;
}

/** Options of {@link createOpenAICompatibleAdapter}. */
export interface OpenAICompatibleOptions {
  /** The configured provider name. */
  id: string;
  /** Up to and including the version segment, e.g. http://127.0.0.1:8000/v1. */
  baseUrl: string;
  apiKey?: string;
  flavor?: CompatFlavor;
  headers?: Record<string, string>;
  maxConnections: number;
  dispatcher?: Dispatcher;
  hooks?: Partial<OpenAICompatibleHooks>;
  /** For model discovery, which has no call context. */
  clock?: Clock;
  connectTimeoutMs?: number;
  pool?: UpstreamPoolOptions | undefined;
}

const CONTEXT_CODES: ReadonlySet<string> = new Set(['context_length_exceeded', 'string_above_max_length', 'exceed_context_size_error']);
const POLICY_CODES: ReadonlySet<string> = new Set(['content_policy_violation', 'content_filter']);
// Wordings of OpenAI, vLLM, llama.cpp, TGI, Groq, Mistral and Anthropic-style servers.
const CONTEXT_PATTERN =
  /maximum context length|context length exceeded|context window|exceeds the available context|prompt is too long|reduce the length of the messages|max_new_tokens`? must be <=|input is too long/i;
const POLICY_PATTERN = /content management policy|content policy|content filter|safety system|flagged by (?:our|the) moderation/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The default classification of an OpenAI-style 4xx: context-length and content-policy
 * failures get their own codes (not retryable on the same deployment), keeping the provider's
 * message. Everything else falls through to the status-based default.
 */
export function classifyOpenAICompatibleError(status: number, body: unknown, text: string): BreakwaterError | undefined {
  if (status < 400 || status >= 500 || status === 429) return undefined;
  const error = isRecord(body) && isRecord(body.error) ? body.error : isRecord(body) ? body : {};
  const code = typeof error.code === 'string' ? error.code : typeof error.type === 'string' ? error.type : '';
  const message = upstreamErrorMessage(status, body, text);
  if (CONTEXT_CODES.has(code) || CONTEXT_PATTERN.test(message)) {
    return new BreakwaterError('context_length_exceeded', message, { upstreamStatus: status, retryable: false });
  }
  if (POLICY_CODES.has(code) || POLICY_PATTERN.test(message)) {
    return new BreakwaterError('content_policy_violation', message, { upstreamStatus: status, retryable: false });
  }
  return undefined;
}

const DEFAULT_HOOKS: Readonly<OpenAICompatibleHooks> = Object.freeze({
  transformRequestBody: (body: Record<string, unknown>) => body,
  convertUsage: convertOpenAIUsage,
  mapFinishReason: mapOpenAIFinishReason,
  classifyError: classifyOpenAICompatibleError,
});

/** Per-stream bookkeeping: rate limits onto `start`, counted usage before a usage-less `finish`. */
interface StreamState {
  outputChars: number;
  sawUsage: boolean;
  finished: boolean;
}

/**
 * The base adapter for every OpenAI-compatible server (SPEC PV-2): one implementation, named
 * hooks per flavor. Non-streamed calls wait for headers up to the total timeout, because such
 * servers send headers only once the whole answer is generated.
 */
class OpenAICompatibleAdapter extends HttpAdapterBase implements ProviderAdapter {
  private readonly hooks: OpenAICompatibleHooks;
  private readonly classifyStreamError = (error: unknown): BreakwaterError => {
    // Without a numeric code, probe as a 400 so context-length and policy wordings still match.
    const status = isRecord(error) && typeof error.code === 'number' ? error.code : 400;
    const message = isRecord(error) && typeof error.message === 'string' ? error.message : '';
    return this.hooks.classifyError(status, { error }, message) ?? classifyOpenAIStreamError(error);
  };

  constructor(options: OpenAICompatibleOptions) {
    const hooks: OpenAICompatibleHooks = { ...DEFAULT_HOOKS, ...COMPAT_FLAVORS[options.flavor ?? 'generic'], ...options.hooks };
    const headers: Record<string, string> = { ...options.headers };
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    const http = new UpstreamHttp({
      baseUrl: options.baseUrl,
      maxConnections: options.maxConnections,
      headers,
      classifyError: hooks.classifyError,
      provider: options.id,
      dispatcher: options.dispatcher,
      connectTimeoutMs: options.connectTimeoutMs,
      pool: options.pool,
    });
    super(options.id, http, options.clock ?? systemClock, '/models');
    this.hooks = hooks;
  }

  async generate(request: CanonicalRequest, ctx: CallContext): Promise<CanonicalResponse> {
    try {
      const body = this.requestBody(request, false, ctx.upstreamModel);
      const { headers, body: answer } = await this.http.postJson('/chat/completions', body, this.untilDone(ctx));
      // A few servers report failures as a 200 with an `error` object.
      if (isRecord(answer) && answer.error != null && !Array.isArray(answer.choices)) throw this.classifyStreamError(answer.error);
      const response = parseOpenAIChatResponse(answer, this.hooks);
      if (response.usage.estimated) response.usage = estimatedUsage(request, this.outputLength(response));
      return this.withRateLimit(response, headers, ctx);
    } catch (err) {
      throw this.failure(err);
    }
  }

  stream(request: CanonicalRequest, ctx: CallContext): AsyncIterable<StreamPart> {
    return new DeferredParts(() => this.openStream(request, ctx));
  }

  private async openStream(request: CanonicalRequest, ctx: CallContext): Promise<AsyncIterator<StreamPart>> {
    const body = this.requestBody(request, true, ctx.upstreamModel);
    let response;
    try {
      response = await this.http.postSse('/chat/completions', body, ctx);
    } catch (err) {
      throw this.failure(err);
    }
    const rateLimit = parseRateLimitHeaders(response.headers, ctx.clock.now());
    const decoder = createOpenAIChatStreamDecoder({
      convertUsage: this.hooks.convertUsage,
      mapFinishReason: this.hooks.mapFinishReason,
      classifyStreamError: this.classifyStreamError,
    });
    const state: StreamState = { outputChars: 0, sawUsage: false, finished: false };
    // Read on after `finish` until EOF so the connection goes back to the pool.
    return new SsePartStream(
      response.events,
      {
        push: (event) => this.annotate(decoder.push(event), request, state, rateLimit),
        end: () => this.annotate(decoder.end(), request, state, rateLimit),
      },
      // A stall or reset after a complete answer costs the connection, not the answer.
      (err) => (state.finished ? undefined : this.failure(err)),
    );
  }

  async embed(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    try {
      const body = toOpenAIEmbeddingRequest(request, ctx.upstreamModel);
      const { body: answer } = await this.http.postJson('/embeddings', body, this.untilDone(ctx));
      const response = parseOpenAIEmbeddingResponse(answer);
      if (response.usage.inputTokens === 0) {
        response.usage = { inputTokens: estimateTokens(request.input.reduce((sum, text) => sum + text.length, 0)) };
      }
      return response;
    } catch (err) {
      throw this.failure(err);
    }
  }



  private requestBody(request: CanonicalRequest, stream: boolean, upstreamModel: string): Record<string, unknown> {
    const canonical = request.stream === stream ? request : { ...request, stream };
    return this.hooks.transformRequestBody(toOpenAIChatRequest(canonical, upstreamModel), request);
  }

  private outputLength(response: CanonicalResponse): number {
    let characters = 0;
    for (const part of response.content) characters += part.type === 'tool-call' ? part.name.length + part.arguments.length : part.text.length;
    return characters;
  }

  /** Adds rate limits to `start` and estimated usage before a `finish` the upstream gave none; counts output. */
  private annotate(parts: StreamPart[], request: CanonicalRequest, state: StreamState, rateLimit: RateLimitInfo | undefined): StreamPart[] {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.type === 'start') {
        if (rateLimit) part.rateLimit = rateLimit;
      } else if (part.type === 'usage') {
        state.sawUsage = true;
      } else if (part.type === 'finish') {
        state.finished = true;
        if (!state.sawUsage) {
          const usage = estimatedUsage(request, state.outputChars);
          part.usage = usage;
          parts.splice(i++, 0, { type: 'usage', usage });
        }
      } else {
        state.outputChars += outputCharacters(part);
      }
    }
    return parts;
  }
}

/** Creates the OpenAI-compatible base adapter with the hooks of `flavor` (default `generic`). */
export function createOpenAICompatibleAdapter(options: OpenAICompatibleOptions): ProviderAdapter {
  return new OpenAICompatibleAdapter(options);
}
