import { BreakwaterError, upstreamHttpError } from '../core/errors.js';
import type { FinishReason, StreamPart, Usage } from '../core/types.js';
import {
  argumentsText,
  convertOpenAIUsage,
  mapOpenAIFinishReason,
  newChatCompletionId,
  newToolCallId,
  reasoningOf,
  type OpenAIChatDecodeOptions,
} from './openai-chat-response.js';
import type { SseEvent } from './sse.js';

type JsonRecord = Record<string, unknown>;

/** Options of {@link createOpenAIChatStreamDecoder}. */
export interface OpenAIChatStreamDecoderOptions extends OpenAIChatDecodeOptions {
  /** Classifies an in-stream `{"error":…}` payload; the default reads a numeric `code` as a status. */
  classifyStreamError?: (error: unknown) => BreakwaterError | undefined;
}

/** Turns upstream SSE events into canonical parts. `end()` is idempotent. */
export interface OpenAIChatStreamDecoder {
  push(event: SseEvent): StreamPart[];
  end(): StreamPart[];
}

interface ToolState {
  index: number;
  id: string;
  name: string;
  started: boolean;
  /** Argument fragments that arrived before the name did. */
  pending: string;
}

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The default in-stream error classification: a numeric `code`/`status` is an HTTP status. */
export function classifyOpenAIStreamError(error: unknown): BreakwaterError {
  const record = isRecord(error) ? error : {};
  const message =
    typeof record.message === 'string' && record.message !== ''
      ? record.message
      : typeof error === 'string' && error !== ''
        ? error
        : 'the upstream reported an error mid-stream';
  const status = typeof record.code === 'number' ? record.code : typeof record.status === 'number' ? record.status : undefined;
  if (status !== undefined && status >= 400 && status < 600) return upstreamHttpError(status, message, { reason: 'stream_error' });
  return new BreakwaterError('upstream_error', message, { reason: 'stream_error' });
}

function malformedChunk(detail: string): BreakwaterError {
  return new BreakwaterError('upstream_error', `malformed stream chunk from the upstream: ${detail}`, { reason: 'malformed_chunk' });
}

/**
 * Decoder state as a class so the per-chunk path allocates no closures. Finish is held back until
 * usage arrives or the stream ends, because OpenAI sends `finish_reason` one chunk before usage.
 */
class ChatStreamDecoder implements OpenAIChatStreamDecoder {
  private started = false;
  private finished = false;
  private ended = false;
  private sawDone = false;
  private sawToolCall = false;
  private pendingFinish: { reason: FinishReason; raw: string } | undefined;
  private usage: Usage | undefined;
  private readonly tools = new Map<number | string, ToolState>();
  private lastToolKey: number | string = 0;
  private readonly convertUsage: (raw: unknown) => Usage | undefined;
  private readonly mapFinishReason: (raw: string | null | undefined) => FinishReason;
  private readonly classifyStreamError: (error: unknown) => BreakwaterError | undefined;

  constructor(options: OpenAIChatStreamDecoderOptions) {
    this.convertUsage = options.convertUsage ?? convertOpenAIUsage;
    this.mapFinishReason = options.mapFinishReason ?? mapOpenAIFinishReason;
    this.classifyStreamError = options.classifyStreamError ?? classifyOpenAIStreamError;
  }

  push(event: SseEvent): StreamPart[] {
    if (this.ended) return [];
    const data = event.data;
    // Only short payloads can be the terminator; trimming every token chunk would copy it.
    if (data === '[DONE]' || (data.length < 16 && data.trim() === '[DONE]')) {
      this.sawDone = true;
      return this.end();
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw malformedChunk(`not JSON (${data.length} characters)`);
    }
    if (!isRecord(chunk)) throw malformedChunk('not a JSON object');
    if (chunk.error != null) throw this.classifyStreamError(chunk.error) ?? classifyOpenAIStreamError(chunk.error);
    if (this.finished) return [];
    const parts: StreamPart[] = [];
    if (!this.started) {
      this.started = true;
      const id = typeof chunk.id === 'string' && chunk.id !== '' ? chunk.id : newChatCompletionId();
      parts.push({ type: 'start', id, model: typeof chunk.model === 'string' ? chunk.model : '' });
    }
    if (Array.isArray(chunk.choices)) {
      for (const choice of chunk.choices) {
        // Breakwater serves one choice; other indexes (n > 1) never reach the client.
        if (isRecord(choice) && (choice.index === undefined || choice.index === 0)) this.readChoice(choice, parts);
      }
    }
    const usage = chunk.usage == null ? undefined : this.convertUsage(chunk.usage);
    if (usage !== undefined) {
      this.usage = usage;
      parts.push({ type: 'usage', usage });
      if (this.pendingFinish) this.emitFinish(parts);
    }
    return parts;
  }

  end(): StreamPart[] {
    if (this.ended) return [];
    this.ended = true;
    if (this.finished) return [];
    const parts: StreamPart[] = [];
    if (!this.started && this.sawDone) {
      this.started = true;
      parts.push({ type: 'start', id: newChatCompletionId(), model: '' });
    }
    for (const tool of this.tools.values()) if (!tool.started) this.startTool(tool, parts);
    if (!this.pendingFinish) {
      if (!this.sawDone) {
        throw new BreakwaterError('upstream_error', 'the upstream stream ended before the model finished (no finish_reason)', {
          reason: 'stream_truncated',
        });
      }
      // `[DONE]` is a clean terminator even from servers that never send a finish_reason.
      this.pendingFinish = { reason: 'stop', raw: '' };
    }
    this.emitFinish(parts);
    return parts;
  }

  private readChoice(choice: JsonRecord, parts: StreamPart[]): void {
    const delta = isRecord(choice.delta) ? choice.delta : undefined;
    if (delta) {
      const reasoning = reasoningOf(delta);
      if (reasoning !== '') parts.push({ type: 'reasoning-delta', text: reasoning });
      if (typeof delta.content === 'string' && delta.content !== '') parts.push({ type: 'text-delta', text: delta.content });
      // A refusal is what the model said instead of an answer; clients of every dialect see it as text.
      if (typeof delta.refusal === 'string' && delta.refusal !== '') parts.push({ type: 'text-delta', text: delta.refusal });
      if (Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) if (isRecord(call)) this.readToolCall(call, parts);
      }
    }
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '' && !this.pendingFinish) {
      this.pendingFinish = { reason: this.mapFinishReason(choice.finish_reason), raw: choice.finish_reason };
    }
  }

  /** Maps OpenAI's per-choice `index` (or, for servers that omit it, the id) to 0, 1, … in order. */
  private readToolCall(call: JsonRecord, parts: StreamPart[]): void {
    const key = typeof call.index === 'number' ? call.index : typeof call.id === 'string' && call.id !== '' ? `id:${call.id}` : this.lastToolKey;
    this.lastToolKey = key;
    let tool = this.tools.get(key);
    if (!tool) {
      tool = { index: this.tools.size, id: '', name: '', started: false, pending: '' };
      this.tools.set(key, tool);
      this.sawToolCall = true;
    }
    const fn = isRecord(call.function) ? call.function : undefined;
    if (!tool.started) {
      if (typeof call.id === 'string' && call.id !== '') tool.id = call.id;
      if (typeof fn?.name === 'string' && fn.name !== '') tool.name = fn.name;
    }
    const args = argumentsText(fn?.arguments);
    if (!tool.started && tool.name !== '') this.startTool(tool, parts);
    if (args === '') return;
    if (tool.started) parts.push({ type: 'tool-call-delta', index: tool.index, argumentsDelta: args });
    else tool.pending += args;
  }

  private startTool(tool: ToolState, parts: StreamPart[]): void {
    tool.started = true;
    if (tool.id === '') tool.id = newToolCallId();
    parts.push({ type: 'tool-call-start', index: tool.index, id: tool.id, name: tool.name });
    if (tool.pending !== '') {
      parts.push({ type: 'tool-call-delta', index: tool.index, argumentsDelta: tool.pending });
      tool.pending = '';
    }
  }

  private emitFinish(parts: StreamPart[]): void {
    const pending = this.pendingFinish!;
    this.finished = true;
    // Some servers report `stop` even when the turn ends in tool calls.
    const finishReason = pending.reason === 'stop' && this.sawToolCall ? 'tool_calls' : pending.reason;
    const finish: StreamPart = { type: 'finish', finishReason };
    if (pending.raw !== '') finish.rawFinishReason = pending.raw;
    if (this.usage) finish.usage = this.usage;
    parts.push(finish);
  }
}

/**
 * A decoder for an upstream Chat Completions SSE stream: `start` once, text, reasoning and
 * tool-call deltas, `usage`, then `finish` exactly once (after usage when usage follows the
 * finish_reason chunk). Push `[DONE]` or call `end()` at EOF; EOF with no finish_reason throws
 * `upstream_error` (`stream_truncated`), a chunk that is not JSON throws `malformed_chunk`, and an
 * in-stream `{"error":…}` throws the classified error.
 */
export function createOpenAIChatStreamDecoder(options: OpenAIChatStreamDecoderOptions = {}): OpenAIChatStreamDecoder {
  return new ChatStreamDecoder(options);
}
