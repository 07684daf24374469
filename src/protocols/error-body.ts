import type { BreakwaterError } from '../core/errors.js';
import { anthropicErrorType } from './anthropic-messages-errors.js';

/** OpenAI's `error.type` per HTTP status; anything unlisted is a `server_error`. */
const OPENAI_ERROR_TYPES: Readonly<Record<number, string>> = Object.freeze({
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  409: 'conflict_error',
  410: 'invalid_request_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
});

/** The fields both dialects share: our code, param, retryability and safe upstream facts (SPEC API-7, API-8). */
function commonFields(error: BreakwaterError, body: Record<string, unknown>): Record<string, unknown> {
  body.code = error.code;
  body.param = error.param ?? null;
  body.retryable = error.retryable;
  const details = error.details;
  if (details.provider !== undefined) body.provider = details.provider;
  if (details.deployment !== undefined) body.deployment = details.deployment;
  if (details.upstreamStatus !== undefined) body.upstream_status = details.upstreamStatus;
  if (details.reason !== undefined) body.reason = details.reason;
  if (details.attempts !== undefined) body.attempts = details.attempts;
  return body;
}

/** The inner `error` object in OpenAI's shape, for error responses and in-band stream errors. */
export function toOpenAIErrorObject(error: BreakwaterError): Record<string, unknown> {
  return commonFields(error, { message: error.message, type: OPENAI_ERROR_TYPES[error.status] ?? 'server_error' });
}

/** The whole Anthropic error body `{type:'error', error:{…}}`, for error responses and `event: error`. */
export function toAnthropicErrorBody(error: BreakwaterError): Record<string, unknown> {
  return { type: 'error', error: commonFields(error, { type: anthropicErrorType(error.code), message: error.message }) };
}
