/**
 * The OpenAI Chat Completions wire format, both directions: client bodies and upstream bodies,
 * complete answers and SSE streams. Split by direction; this barrel is the one import.
 */
export { parseOpenAIChatRequest } from './openai-chat-request.js';
export { droppedOpenAIChatParams, toOpenAIChatRequest } from './openai-chat-request-encoder.js';
export {
  convertOpenAIUsage,
  mapOpenAIFinishReason,
  parseOpenAIChatResponse,
  toOpenAIChatResponse,
  toOpenAIFinishReason,
  toOpenAIUsage,
  type OpenAIChatDecodeOptions,
} from './openai-chat-response.js';
export {
  classifyOpenAIStreamError,
  createOpenAIChatStreamDecoder,
  type OpenAIChatStreamDecoder,
  type OpenAIChatStreamDecoderOptions,
} from './openai-chat-stream-decoder.js';
export {
  createOpenAIChatStreamEncoder,
  type OpenAIChatStreamEncoder,
  type OpenAIChatStreamEncoderOptions,
} from './openai-chat-stream-encoder.js';
