import type { FinishPart, ReasoningDeltaPart, StreamPart, Usage } from '../core/types.js';
import { anthropicMessageId, toAnthropicStopReason, toAnthropicUsage } from './anthropic-messages-response.js';
import type { SseEvent } from './sse.js';
import { toAnthropicErrorBody } from './error-body.js';

/** Turns canonical parts into the SSE events of an Anthropic Messages stream. */
export interface AnthropicMessagesStreamEncoder {
  /** The events one part yields (often none or several). */
  encode(part: StreamPart): SseEvent[];
}

/** Options for {@link createAnthropicMessagesStreamEncoder}. */
export interface AnthropicMessagesStreamEncoderOptions {
  id: string;
  publicModel: string;
}

type OpenBlock = 'text' | 'thinking' | 'tool' | undefined;

const NONE: SseEvent[] = [];
const ZERO: Usage = { inputTokens: 0, outputTokens: 0 };

function event(name: string, payload: unknown): SseEvent {
  return { event: name, data: JSON.stringify(payload) };
}

/** Hot path: deltas are spliced as strings rather than built as objects and serialised. */
function delta(index: number, type: string, field: string, value: string): SseEvent {
  return {
    event: 'content_block_delta',
    data: `{"type":"content_block_delta","index":${index},"delta":{"type":"${type}","${field}":${JSON.stringify(value)}}}`,
  };
}


class Encoder implements AnthropicMessagesStreamEncoder {
  private readonly id: string;
  private readonly model: string;
  private started = false;
  private ended = false;
  private open: OpenBlock;
  private signed = false;
  /** Index of the newest content block; -1 before the first. */
  private block = -1;
  /** Block index per tool index, so late argument fragments find their block. */
  private readonly toolBlocks: number[] = [];
  private usage: Usage = ZERO;

  constructor(options: AnthropicMessagesStreamEncoderOptions) {
    this.id = anthropicMessageId(options.id);
    this.model = options.publicModel;
  }

  encode(part: StreamPart): SseEvent[] {
    if (this.ended) return NONE;
    switch (part.type) {
      case 'text-delta':
        return part.text.length === 0 ? NONE : this.text(part.text);
      case 'tool-call-delta': {
        const block = this.toolBlocks[part.index];
        if (block === undefined || part.argumentsDelta.length === 0) return NONE;
        return [delta(block, 'input_json_delta', 'partial_json', part.argumentsDelta)];
      }
      case 'reasoning-delta':
        return this.reasoning(part);
      case 'tool-call-start':
        return this.toolStart(part.index, part.id, part.name);
      case 'usage':
        this.usage = part.usage;
        return this.started ? NONE : this.messageStart([]);
      case 'start':
        // Deferred by one part: the usage that follows an upstream's start lands in message_start.
        return NONE;
      case 'finish':
        return this.finish(part);
      case 'error':
        this.ended = true;
        return [event('error', toAnthropicErrorBody(part.error))];
    }
  }

  private messageStart(events: SseEvent[]): SseEvent[] {
    this.started = true;
    const usage = toAnthropicUsage(this.usage);
    const message = {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage,
    };
    events.push(event('message_start', { type: 'message_start', message }));
    return events;
  }

  /** Opens a block of `kind` unless one is open, closing whatever else was. */
  private openBlock(kind: 'text' | 'thinking', events: SseEvent[]): void {
    if (this.open === kind && !(kind === 'thinking' && this.signed)) return;
    this.closeBlock(events);
    this.open = kind;
    this.signed = false;
    this.block++;
    const contentBlock = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    events.push(event('content_block_start', { type: 'content_block_start', index: this.block, content_block: contentBlock }));
  }

  private closeBlock(events: SseEvent[]): void {
    if (this.open === undefined) return;
    events.push(event('content_block_stop', { type: 'content_block_stop', index: this.block }));
    this.open = undefined;
  }

  private text(text: string): SseEvent[] {
    if (this.started && this.open === 'text') return [delta(this.block, 'text_delta', 'text', text)];
    const events = this.started ? [] : this.messageStart([]);
    this.openBlock('text', events);
    events.push(delta(this.block, 'text_delta', 'text', text));
    return events;
  }

  private reasoning(part: ReasoningDeltaPart): SseEvent[] {
    const events = this.started ? [] : this.messageStart([]);
    if (part.redactedData !== undefined) {
      this.closeBlock(events);
      this.block++;
      const contentBlock = { type: 'redacted_thinking', data: part.redactedData };
      events.push(event('content_block_start', { type: 'content_block_start', index: this.block, content_block: contentBlock }));
      events.push(event('content_block_stop', { type: 'content_block_stop', index: this.block }));
      return events;
    }
    if (part.text.length > 0) {
      this.openBlock('thinking', events);
      events.push(delta(this.block, 'thinking_delta', 'thinking', part.text));
    }
    if (part.signature !== undefined) {
      this.openBlock('thinking', events);
      events.push(delta(this.block, 'signature_delta', 'signature', part.signature));
      this.signed = true;
    }
    return events;
  }

  private toolStart(index: number, id: string, name: string): SseEvent[] {
    const events = this.started ? [] : this.messageStart([]);
    this.closeBlock(events);
    this.block++;
    this.open = 'tool';
    this.toolBlocks[index] = this.block;
    const contentBlock = { type: 'tool_use', id, name, input: {} };
    events.push(event('content_block_start', { type: 'content_block_start', index: this.block, content_block: contentBlock }));
    return events;
  }

  private finish(part: FinishPart): SseEvent[] {
    const events = this.started ? [] : this.messageStart([]);
    this.closeBlock(events);
    this.ended = true;
    if (part.usage) this.usage = part.usage;
    const messageDelta = {
      type: 'message_delta',
      delta: {
        stop_reason: toAnthropicStopReason(part.finishReason, part.rawFinishReason, part.stopSequence),
        stop_sequence: part.stopSequence ?? null,
      },
      // Cumulative totals, input included: message_start may have gone out before usage was known.
      usage: toAnthropicUsage(this.usage),
    };
    events.push(event('message_delta', messageDelta), event('message_stop', { type: 'message_stop' }));
    return events;
  }
}

/** An encoder for one client-facing Anthropic Messages stream. */
export function createAnthropicMessagesStreamEncoder(options: AnthropicMessagesStreamEncoderOptions): AnthropicMessagesStreamEncoder {
  return new Encoder(options);
}
