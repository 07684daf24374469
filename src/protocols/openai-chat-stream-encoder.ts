import type { StreamPart, Usage } from '../core/types.js';
import { toChatCompletionId, toOpenAIFinishReason, toOpenAIUsage } from './openai-chat-response.js';
import type { SseEvent } from './sse.js';
import { toOpenAIErrorObject } from './error-body.js';

/** Options of {@link createOpenAIChatStreamEncoder}. */
export interface OpenAIChatStreamEncoderOptions {
  id: string;
  publicModel: string;
  /** Unix seconds. */
  created: number;
  /** The client asked for `stream_options.include_usage`. */
  includeUsage: boolean;
}

/** Turns canonical parts into the client's `chat.completion.chunk` events. */
export interface OpenAIChatStreamEncoder {
  encode(part: StreamPart): SseEvent[];
}

const CHOICE_TAIL = ',"logprobs":null,"finish_reason":null}]}';

/**
 * Per-stream encoder. The id/created/model prefix of every chunk is serialised once and reused,
 * so a token costs one `JSON.stringify` of its text and a few concatenations. Events are fresh
 * objects because the relay may stamp an `id` on them (resumable streams).
 */
class ChatStreamEncoder implements OpenAIChatStreamEncoder {
  private readonly head: string;
  private readonly usageHead: string;
  private readonly includeUsage: boolean;
  private sentRole = false;
  private closed = false;
  private usage: Usage | undefined;

  constructor(options: OpenAIChatStreamEncoderOptions) {
    const prefix =
      `{"id":${JSON.stringify(toChatCompletionId(options.id))},"object":"chat.completion.chunk",` +
      `"created":${Math.floor(options.created)},"model":${JSON.stringify(options.publicModel)},"choices":`;
    this.head = `${prefix}[{"index":0,"delta":`;
    this.usageHead = `${prefix}[],"usage":`;
    this.includeUsage = options.includeUsage;
  }

  encode(part: StreamPart): SseEvent[] {
    if (this.closed) return [];
    switch (part.type) {
      case 'start':
        return this.role() ?? [];
      case 'text-delta':
        return part.text === '' ? [] : this.delta(`{"content":${JSON.stringify(part.text)}}`);
      case 'reasoning-delta':
        // Reasoning goes where vLLM and DeepSeek clients look for it, never into `content`.
        return part.text === '' ? [] : this.delta(`{"reasoning_content":${JSON.stringify(part.text)}}`);
      case 'tool-call-start':
        return this.delta(
          `{"tool_calls":[{"index":${part.index},"id":${JSON.stringify(part.id)},"type":"function",` +
            `"function":{"name":${JSON.stringify(part.name)},"arguments":""}}]}`,
        );
      case 'tool-call-delta':
        return this.delta(`{"tool_calls":[{"index":${part.index},"function":{"arguments":${JSON.stringify(part.argumentsDelta)}}}]}`);
      case 'usage':
        this.usage = part.usage;
        return [];
      case 'finish':
        return this.finish(toOpenAIFinishReason(part.finishReason), part.usage ?? this.usage);
      case 'error':
        this.closed = true;
        // No [DONE] after an error: a clean end would pass a failure off as a complete answer.
        return [{ data: JSON.stringify({ error: toOpenAIErrorObject(part.error) }) }];
    }
  }

  private role(): SseEvent[] | undefined {
    if (this.sentRole) return undefined;
    this.sentRole = true;
    return [{ data: `${this.head}{"role":"assistant","content":""}${CHOICE_TAIL}` }];
  }

  private delta(delta: string): SseEvent[] {
    const event = { data: this.head + delta + CHOICE_TAIL };
    const role = this.role();
    if (role === undefined) return [event];
    role.push(event);
    return role;
  }

  private finish(reason: string, usage: Usage | undefined): SseEvent[] {
    this.closed = true;
    const events = this.role() ?? [];
    events.push({ data: `${this.head}{},"logprobs":null,"finish_reason":${JSON.stringify(reason)}}]}` });
    if (this.includeUsage && usage) events.push({ data: this.usageHead + JSON.stringify(toOpenAIUsage(usage)) + '}' });
    events.push({ data: '[DONE]' });
    return events;
  }
}

/**
 * An encoder for the client side of `/v1/chat/completions` streams: the first chunk carries
 * `delta.role`, usage is held until `finish` and shown only when the client asked, `finish` ends
 * with `[DONE]`, and an `error` part ends with an in-band error and no `[DONE]` (SPEC SA-4).
 */
export function createOpenAIChatStreamEncoder(options: OpenAIChatStreamEncoderOptions): OpenAIChatStreamEncoder {
  return new ChatStreamEncoder(options);
}
