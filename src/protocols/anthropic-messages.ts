/**
 * The Anthropic Messages wire format, both directions: client requests and responses
 * (`/v1/messages`) and upstream requests, responses and streams (SPEC API-2, API-3, PV-7).
 */
export { anthropicErrorType, anthropicStreamError, errorCodeForAnthropicError } from './anthropic-messages-errors.js';
export { parseAnthropicMessagesRequest } from './anthropic-messages-request.js';
export {
  ANTHROPIC_DEFAULT_MAX_TOKENS,
  ANTHROPIC_JSON_TOOL_NAME,
  anthropicJsonToolName,
  anthropicToolInput,
  convertToAnthropicMessages,
  droppedAnthropicMessagesParams,
  toAnthropicMessagesRequest,
} from './anthropic-messages-upstream-request.js';
export {
  anthropicMessageId,
  mapAnthropicStopReason,
  parseAnthropicMessagesResponse,
  toAnthropicMessagesResponse,
  toAnthropicStopReason,
  toAnthropicUsage,
  usageFromAnthropic,
  type AnthropicDecodeOptions,
} from './anthropic-messages-response.js';
export { createAnthropicMessagesStreamDecoder, type AnthropicMessagesStreamDecoder } from './anthropic-messages-stream-decoder.js';
export {
  createAnthropicMessagesStreamEncoder,
  type AnthropicMessagesStreamEncoder,
  type AnthropicMessagesStreamEncoderOptions,
} from './anthropic-messages-stream-encoder.js';
