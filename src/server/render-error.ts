import type { BreakwaterError } from '../core/errors.js';
import type { Dialect } from '../core/types.js';
import { toAnthropicErrorBody, toOpenAIErrorObject } from '../protocols/error-body.js';

/** The error as the client's dialect expects it: OpenAI `{error:{…}}` or Anthropic `{type:'error',error:{…}}`. */
export function renderErrorBody(error: BreakwaterError, dialect: Dialect): Record<string, unknown> {
  return dialect === 'anthropic-messages' ? toAnthropicErrorBody(error) : { error: toOpenAIErrorObject(error) };
}

/**
 * Response headers for an error: our code, and Retry-After when we know it. A wait that is not
 * whole seconds also goes out as `retry-after-ms` (as OpenAI sends it), so a client behind us —
 * another gateway, the simulation sandbox — does not wait up to a second longer than the upstream asked.
 */
export function errorHeaders(error: BreakwaterError): Record<string, string> {
  const headers: Record<string, string> = { 'x-breakwater-error-code': error.code, ...error.headers };
  const ms = error.details.retryAfterMs;
  if (ms !== undefined && headers['retry-after'] === undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(ms / 1000)));
  if (ms !== undefined && ms % 1000 !== 0 && headers['retry-after-ms'] === undefined) headers['retry-after-ms'] = String(Math.ceil(ms));
  return headers;
}
