import type { BreakwaterError } from '../core/errors.js';
import type { Dialect } from '../core/types.js';
import { toAnthropicErrorBody, toOpenAIErrorObject } from '../protocols/error-body.js';

/** The error as the client's dialect expects it: OpenAI `{error:{…}}` or Anthropic `{type:'error',error:{…}}`. */
export function renderErrorBody(error: BreakwaterError, dialect: Dialect): Record<string, unknown> {
  return dialect === 'anthropic-messages' ? toAnthropicErrorBody(error) : { error: toOpenAIErrorObject(error) };
}

/** Response headers for an error: our code, and Retry-After when we know it. */
export function errorHeaders(error: BreakwaterError): Record<string, string> {
  const headers: Record<string, string> = { 'x-breakwater-error-code': error.code, ...error.headers };
  if (error.details.retryAfterMs !== undefined && headers['retry-after'] === undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.details.retryAfterMs / 1000)));
  }
  return headers;
}
