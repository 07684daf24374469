import { BreakwaterError } from '../core/errors.js';
import type { FinishPart, StreamPart, Usage } from '../core/types.js';
import { anthropicStreamError } from './anthropic-messages-errors.js';
import { mapAnthropicStopReason, usageFromAnthropic, type AnthropicDecodeOptions } from './anthropic-messages-response.js';
import type { SseEvent } from './sse.js';

type Json = Record<string, any>;
/** What a content block index carries; `json` is the forced JSON tool, `ignored` a server-side block. */
type BlockKind = 'text' | 'thinking' | 'tool' | 'json' | 'ignored';

/** Turns an upstream Anthropic SSE stream into canonical parts, one event at a time. */
export interface AnthropicMessagesStreamDecoder {
  /** The parts one upstream event yields; throws a classified BreakwaterError on `error` or bad data. */
  push(event: SseEvent): StreamPart[];
  /** The parts owed when the upstream closes; throws `stream_truncated` if it never said why it stopped. */
  end(): StreamPart[];
}

const NONE: StreamPart[] = [];

function malformed(data: string, cause: unknown): BreakwaterError {
  return new BreakwaterError('upstream_error', `Anthropic sent an unreadable stream event: ${data.slice(0, 120)}`, {
    reason: 'malformed_chunk',
    cause,
  });
}

class Decoder implements AnthropicMessagesStreamDecoder {
  private readonly unwrapJsonTool: string | undefined;
  private readonly kinds: BlockKind[] = [];
  /** Tool index per block index: Anthropic numbers all blocks, canonical parts number only tool calls. */
  private readonly toolIndexes: number[] = [];
  private readonly toolHasArguments: boolean[] = [];
  private nextToolIndex = 0;
  private usage: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
  private stopReason: string | undefined;
  private stopSequence: string | undefined;
  private done = false;
  private jsonSeen = false;
  /** In JSON mode, text is held until we know whether the forced tool (the real answer) comes. */
  private heldText = '';

  constructor(options: AnthropicDecodeOptions) {
    this.unwrapJsonTool = options.unwrapJsonTool;
  }

  push(event: SseEvent): StreamPart[] {
    if (this.done || event.event === 'ping') return NONE;
    let data: Json;
    try {
      data = JSON.parse(event.data);
    } catch (cause) {
      throw malformed(event.data, cause);
    }
    if (typeof data !== 'object' || data === null) throw malformed(event.data, undefined);
    const type = typeof data.type === 'string' ? data.type : event.event;
    if (event.event === 'error' || type === 'error') throw anthropicStreamError(data);
    switch (type) {
      case 'content_block_delta':
        return this.blockDelta(data);
      case 'content_block_start':
        return this.blockStart(data);
      case 'content_block_stop':
        return this.blockStop(data);
      case 'message_start':
        return this.messageStart(data);
      case 'message_delta':
        return this.messageDelta(data);
      case 'message_stop':
        return this.finish();
      default:
        return NONE;
    }
  }

  end(): StreamPart[] {
    if (this.done) return NONE;
    if (this.stopReason !== undefined) return this.finish();
    this.done = true;
    throw new BreakwaterError('upstream_error', 'the Anthropic stream ended before message_stop', { reason: 'stream_truncated' });
  }

  private messageStart(data: Json): StreamPart[] {
    const message: Json = data.message ?? {};
    this.usage = usageFromAnthropic(message.usage);
    return [
      { type: 'start', id: String(message.id ?? ''), model: String(message.model ?? '') },
      { type: 'usage', usage: { ...this.usage } },
    ];
  }

  private blockStart(data: Json): StreamPart[] {
    const index: number = data.index;
    const block: Json = data.content_block ?? {};
    switch (block.type) {
      case 'text':
        this.kinds[index] = 'text';
        return block.text ? this.text(block.text) : NONE;
      case 'thinking':
        this.kinds[index] = 'thinking';
        return block.thinking ? [{ type: 'reasoning-delta', text: block.thinking }] : NONE;
      case 'redacted_thinking':
        this.kinds[index] = 'ignored';
        return [{ type: 'reasoning-delta', text: '', redactedData: String(block.data ?? '') }];
      case 'tool_use':
        return this.toolStart(index, block);
      default:
        this.kinds[index] = 'ignored';
        return NONE;
    }
  }

  private toolStart(index: number, block: Json): StreamPart[] {
    if (this.unwrapJsonTool !== undefined && block.name === this.unwrapJsonTool) {
      this.kinds[index] = 'json';
      this.jsonSeen = true;
      this.heldText = '';
      return NONE;
    }
    const toolIndex = this.nextToolIndex++;
    this.kinds[index] = 'tool';
    this.toolIndexes[index] = toolIndex;
    return [{ type: 'tool-call-start', index: toolIndex, id: String(block.id ?? ''), name: String(block.name ?? '') }];
  }

  private blockDelta(data: Json): StreamPart[] {
    const index: number = data.index;
    const delta: Json = data.delta ?? {};
    switch (delta.type) {
      case 'text_delta':
        return delta.text ? this.text(delta.text) : NONE;
      case 'input_json_delta':
        return this.inputJson(index, delta.partial_json);
      case 'thinking_delta':
        return delta.thinking ? [{ type: 'reasoning-delta', text: delta.thinking }] : NONE;
      case 'signature_delta':
        return [{ type: 'reasoning-delta', text: '', signature: String(delta.signature ?? '') }];
      default:
        return NONE;
    }
  }

  private text(text: string): StreamPart[] {
    if (this.unwrapJsonTool === undefined) return [{ type: 'text-delta', text }];
    if (!this.jsonSeen) this.heldText += text;
    return NONE;
  }

  private inputJson(index: number, fragment: unknown): StreamPart[] {
    if (typeof fragment !== 'string' || fragment.length === 0) return NONE;
    const kind = this.kinds[index];
    if (kind === 'json') {
      this.toolHasArguments[index] = true;
      return [{ type: 'text-delta', text: fragment }];
    }
    if (kind !== 'tool') return NONE;
    this.toolHasArguments[index] = true;
    return [{ type: 'tool-call-delta', index: this.toolIndexes[index]!, argumentsDelta: fragment }];
  }

  /** A tool without arguments streams no JSON at all; clients still need a parseable `{}`. */
  private blockStop(data: Json): StreamPart[] {
    const index: number = data.index;
    const kind = this.kinds[index];
    if (this.toolHasArguments[index]) return NONE;
    if (kind === 'tool') return [{ type: 'tool-call-delta', index: this.toolIndexes[index]!, argumentsDelta: '{}' }];
    if (kind === 'json') return [{ type: 'text-delta', text: '{}' }];
    return NONE;
  }

  private messageDelta(data: Json): StreamPart[] {
    const delta: Json = data.delta ?? {};
    if (typeof delta.stop_reason === 'string') this.stopReason = delta.stop_reason;
    if (typeof delta.stop_sequence === 'string') this.stopSequence = delta.stop_sequence;
    const usage: Json | undefined = data.usage;
    if (!usage) return NONE;
    // message_delta counts are cumulative; input and cache counts appear only on newer API versions.
    const merged = this.anthropicUsage();
    for (const key of Object.keys(usage)) if (usage[key] !== null && usage[key] !== undefined) merged[key] = usage[key];
    const next = usageFromAnthropic(merged);
    if (next.reasoningTokens === undefined && this.usage.reasoningTokens !== undefined) next.reasoningTokens = this.usage.reasoningTokens;
    this.usage = next;
    return [{ type: 'usage', usage: { ...next } }];
  }

  private anthropicUsage(): Json {
    const cacheRead = this.usage.cacheReadTokens ?? 0;
    const cacheWrite = this.usage.cacheWriteTokens ?? 0;
    return {
      input_tokens: this.usage.inputTokens - cacheRead - cacheWrite,
      output_tokens: this.usage.outputTokens,
      cache_read_input_tokens: cacheRead,
      cache_creation_input_tokens: cacheWrite,
    };
  }

  private finish(): StreamPart[] {
    this.done = true;
    const parts: StreamPart[] = [];
    let finishReason = mapAnthropicStopReason(this.stopReason);
    if (this.unwrapJsonTool !== undefined) {
      if (!this.jsonSeen && this.heldText) parts.push({ type: 'text-delta', text: this.heldText });
      if (this.jsonSeen && finishReason === 'tool_calls' && this.nextToolIndex === 0) finishReason = 'stop';
    }
    const finish: FinishPart = { type: 'finish', finishReason, usage: { ...this.usage } };
    if (this.stopReason !== undefined) finish.rawFinishReason = this.stopReason;
    if (this.stopSequence !== undefined) finish.stopSequence = this.stopSequence;
    parts.push(finish);
    return parts;
  }
}

/** A decoder for one upstream Anthropic Messages stream (SSE events in, canonical parts out). */
export function createAnthropicMessagesStreamDecoder(options: AnthropicDecodeOptions = {}): AnthropicMessagesStreamDecoder {
  return new Decoder(options);
}
