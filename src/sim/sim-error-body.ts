import type { JsonObject } from '../core/types.js';
import type { SimFault } from './sim-fault.js';

/** Which provider's wire shape errors and headers imitate. */
export type SimDialect = 'openai' | 'anthropic';

/** A simulated non-2xx answer, as the real provider would send it. */
export interface SimHttpError {
  status: number;
  body: JsonObject;
  headers: Record<string, string>;
  message: string;
  /** Set for the 400s that are not plain invalid requests. */
  errorCode?: 'context_length_exceeded' | 'content_policy_violation';
  retryAfterMs?: number;
}

/** One error's wording for both providers. */
export interface ErrorText {
  openaiType: string;
  openaiCode: string | null;
  anthropicType: string;
  message: string;
  param?: string | null;
}

/** What each provider says for a status, worded as they word it. */
const STATUS_TEXT: Readonly<Record<number, ErrorText>> = Object.freeze({
  401: text('invalid_request_error', 'invalid_api_key', 'authentication_error', 'Incorrect API key provided.'),
  403: text('invalid_request_error', null, 'permission_error', 'You are not allowed to use this model.'),
  404: text('invalid_request_error', 'model_not_found', 'not_found_error', 'The model does not exist.'),
  429: text('requests', 'rate_limit_exceeded', 'rate_limit_error', 'Rate limit reached for requests per min (RPM). Try again later.'),
  500: text('server_error', null, 'api_error', 'The server had an error while processing your request. Sorry about that!'),
  502: text('server_error', null, 'api_error', 'Bad gateway.'),
  503: text('server_error', null, 'api_error', 'The engine is currently overloaded, please try again later.'),
  529: text('server_error', null, 'overloaded_error', 'Overloaded'),
});

function text(openaiType: string, openaiCode: string | null, anthropicType: string, message: string): ErrorText {
  return Object.freeze({ openaiType, openaiCode, anthropicType, message });
}

function textForStatus(status: number): ErrorText {
  const known = STATUS_TEXT[status];
  if (known) return known;
  if (status >= 500) return text('server_error', null, 'api_error', `Simulated upstream error ${status}.`);
  return text('invalid_request_error', null, 'invalid_request_error', `Simulated client error ${status}.`);
}

/** An error body in the provider's shape: OpenAI `{error:{…}}`, Anthropic `{type:'error', error:{…}}`. */
export function simErrorBody(dialect: SimDialect, wording: ErrorText, requestId?: string): JsonObject {
  if (dialect === 'anthropic') {
    const body: JsonObject = { type: 'error', error: { type: wording.anthropicType, message: wording.message } };
    if (requestId) body.request_id = requestId;
    return body;
  }
  return { error: { message: wording.message, type: wording.openaiType, param: wording.param ?? null, code: wording.openaiCode } };
}

function requestIdHeader(dialect: SimDialect, requestId: string): Record<string, string> {
  return dialect === 'anthropic' ? { 'request-id': requestId } : { 'x-request-id': requestId };
}

/** The simulated answer for a status fault, with Retry-After and rate-limit headers as real providers send. */
export function simStatusError(fault: SimFault, dialect: SimDialect, requestId: string): SimHttpError {
  const status = fault.status ?? 500;
  const wording = textForStatus(status);
  const headers = requestIdHeader(dialect, requestId);
  if (fault.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.ceil(fault.retryAfterMs / 1000));
    if (fault.retryAfterUnit === 'ms') headers['retry-after-ms'] = String(fault.retryAfterMs);
  }
  if (status === 429) {
    if (dialect === 'anthropic') headers['anthropic-ratelimit-requests-remaining'] = '0';
    else headers['x-ratelimit-remaining-requests'] = '0';
  }
  const error: SimHttpError = { status, body: simErrorBody(dialect, wording, requestId), headers, message: wording.message };
  if (fault.retryAfterMs !== undefined) error.retryAfterMs = fault.retryAfterMs;
  return error;
}

/** The 400 for a prompt over the context window, worded like each provider. */
export function simContextLengthError(dialect: SimDialect, requestId: string, inputTokens: number, contextWindow: number): SimHttpError {
  const tokens = Math.max(inputTokens, contextWindow + 1);
  const message =
    dialect === 'anthropic'
      ? `prompt is too long: ${tokens} tokens > ${contextWindow} maximum`
      : `This model's maximum context length is ${contextWindow} tokens. However, your messages resulted in ${tokens} tokens. ` +
        'Please reduce the length of the messages.';
  const wording = { ...text('invalid_request_error', 'context_length_exceeded', 'invalid_request_error', message), param: 'messages' };
  const body = simErrorBody(dialect, wording, requestId);
  return { status: 400, body, headers: requestIdHeader(dialect, requestId), message, errorCode: 'context_length_exceeded' };
}

/** The 400 of a request the provider's safety system rejected. */
export function simContentPolicyError(dialect: SimDialect, requestId: string): SimHttpError {
  const message =
    dialect === 'anthropic'
      ? 'Output blocked by content filtering policy'
      : 'Your request was rejected as a result of our safety system. ' +
        'Your prompt may contain text that is not allowed by our safety system.';
  const wording = text('invalid_request_error', 'content_policy_violation', 'invalid_request_error', message);
  const body = simErrorBody(dialect, wording, requestId);
  return { status: 400, body, headers: requestIdHeader(dialect, requestId), message, errorCode: 'content_policy_violation' };
}
