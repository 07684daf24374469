import type { BreakwaterError, ErrorCode } from '../core/errors.js';
import type { Dialect } from '../core/types.js';
import { anthropicErrorType } from '../protocols/anthropic-messages.js';

/** OpenAI's `error.type` for each of our statuses. */
function openAIErrorType(status: number, code: ErrorCode): string {
  if (code === 'budget_exceeded') return 'insufficient_quota';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** The fields every rendering shares: our code, retryability and safe upstream facts (API-7, API-8). */
function commonFields(error: BreakwaterError): Record<string, unknown> {
  const fields: Record<string, unknown> = { code: error.code, param: error.param ?? null, retryable: error.retryable };
  const d = error.details;
  if (d.provider !== undefined) fields.provider = d.provider;
  if (d.deployment !== undefined) fields.deployment = d.deployment;
  if (d.upstreamStatus !== undefined) fields.upstream_status = d.upstreamStatus;
  if (d.reason !== undefined) fields.reason = d.reason;
  if (d.attempts !== undefined) fields.attempts = d.attempts;
  return fields;
}

/** The error as the client's dialect expects it: OpenAI `{error:{…}}` or Anthropic `{type:'error',error:{…}}`. */
export function renderErrorBody(error: BreakwaterError, dialect: Dialect): Record<string, unknown> {
  if (dialect === 'anthropic-messages') {
    return { type: 'error', error: { type: anthropicErrorType(error.code), message: error.message, ...commonFields(error) } };
  }
  return { error: { message: error.message, type: openAIErrorType(error.status, error.code), ...commonFields(error) } };
}

/** Response headers for an error: our code, and Retry-After when we know it. */
export function errorHeaders(error: BreakwaterError): Record<string, string> {
  const headers: Record<string, string> = { 'x-breakwater-error-code': error.code, ...error.headers };
  if (error.details.retryAfterMs !== undefined && headers['retry-after'] === undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.details.retryAfterMs / 1000)));
  }
  return headers;
}
