/**
 * The OpenAI Responses wire format, client side: `POST /v1/responses` bodies, Response objects
 * and their SSE event streams. Split by direction; this barrel is the one import.
 */
export {
  parseOpenAIResponsesRequest,
  withConversationHistory,
  type ParsedResponsesRequest,
  type ResponsesEcho,
} from './openai-responses-request.js';
export {
  finishedWithError,
  mapFinishReasonToResponseStatus,
  newResponseId,
  newResponseItemId,
  responseOutputToMessages,
  toOpenAIResponsesResponse,
  toResponsesObject,
  toResponsesUsage,
  type IncompleteReason,
  type ResponseFunctionCallItem,
  type ResponseItemIdFactory,
  type ResponseItemStatus,
  type ResponseMessageItem,
  type ResponseObject,
  type ResponseOutputItem,
  type ResponseOutputText,
  type ResponseReasoningItem,
  type ResponseState,
  type ResponseStatus,
  type ResponseUsage,
  type ToResponsesOptions,
} from './openai-responses-response.js';
export {
  createOpenAIResponsesStreamEncoder,
  type ResponsesStreamEncoder,
  type ResponsesStreamEncoderOptions,
} from './openai-responses-stream-encoder.js';
