import type { CanonicalRequest, CanonicalResponse, Dialect, StreamPart } from '../core/types.js';
import {
  createAnthropicMessagesStreamEncoder,
  parseAnthropicMessagesRequest,
  toAnthropicMessagesResponse,
} from '../protocols/anthropic-messages.js';
import { createOpenAIChatStreamEncoder, parseOpenAIChatRequest, toOpenAIChatResponse } from '../protocols/openai-chat.js';
import { formatSseEvent, SSE_HEARTBEAT_COMMENT, type SseEvent } from '../protocols/sse.js';

/** Encodes canonical parts for one client stream. */
export interface StreamEncoder {
  encode(part: StreamPart): SseEvent[];
}

/** Everything the completion handler needs to speak one client dialect. */
export interface ChatCodec {
  dialect: Dialect;
  parseRequest(body: unknown): CanonicalRequest;
  toResponse(response: CanonicalResponse, publicModel: string): unknown;
  createEncoder(options: { id: string; publicModel: string; created: number; includeUsage: boolean }): StreamEncoder;
  /** A keep-alive frame in this dialect (SPEC ST-5). */
  heartbeat: string;
  /** Prefix of the response id the client sees. */
  idPrefix: string;
}

/** OpenAI Chat Completions (`POST /v1/chat/completions`). */
export const openAIChatCodec: ChatCodec = Object.freeze<ChatCodec>({
  dialect: 'openai-chat',
  parseRequest: parseOpenAIChatRequest,
  toResponse: toOpenAIChatResponse,
  createEncoder: (options) => createOpenAIChatStreamEncoder(options),
  heartbeat: SSE_HEARTBEAT_COMMENT,
  idPrefix: 'chatcmpl-',
});

/** Anthropic Messages (`POST /v1/messages`). */
export const anthropicMessagesCodec: ChatCodec = Object.freeze<ChatCodec>({
  dialect: 'anthropic-messages',
  parseRequest: parseAnthropicMessagesRequest,
  toResponse: toAnthropicMessagesResponse,
  createEncoder: (options) => createAnthropicMessagesStreamEncoder(options),
  heartbeat: formatSseEvent({ event: 'ping', data: '{"type":"ping"}' }),
  idPrefix: 'msg_',
});
