import { BreakwaterError, type ErrorCode } from '../core/errors.js';

/**
 * Anthropic's `error.type` for each of our codes. A full record, so a new code cannot be added
 * without deciding how Anthropic clients see it.
 */
const ANTHROPIC_ERROR_TYPES: Readonly<Record<ErrorCode, string>> = Object.freeze({
  invalid_request: 'invalid_request_error',
  context_length_exceeded: 'invalid_request_error',
  content_policy_violation: 'invalid_request_error',
  invalid_api_key: 'authentication_error',
  budget_exceeded: 'billing_error',
  model_not_allowed: 'permission_error',
  permission_denied: 'permission_error',
  model_not_found: 'not_found_error',
  not_found: 'not_found_error',
  method_not_allowed: 'invalid_request_error',
  idempotency_conflict: 'invalid_request_error',
  cursor_expired: 'not_found_error',
  request_too_large: 'request_too_large',
  unsupported_media_type: 'invalid_request_error',
  rate_limited: 'rate_limit_error',
  queue_timeout: 'rate_limit_error',
  internal_error: 'api_error',
  upstream_error: 'api_error',
  semantic_validation_failed: 'api_error',
  upstream_unavailable: 'overloaded_error',
  overloaded: 'overloaded_error',
  upstream_timeout: 'timeout_error',
  cancelled: 'api_error',
  payload_too_large: 'request_too_large',
  run_finished: 'invalid_request_error',
  run_not_waiting: 'invalid_request_error',
  run_limit_exceeded: 'invalid_request_error',
  agent_not_found: 'not_found_error',
  workflow_diverged: 'api_error',
  step_timeout: 'timeout_error',
});

/** The Anthropic `error.type` a client of `/v1/messages` sees for one of our error codes. */
export function anthropicErrorType(code: ErrorCode): string {
  return ANTHROPIC_ERROR_TYPES[code];
}

const CONTEXT_LENGTH_MESSAGE =
  /prompt is too long|exceeds? (the )?context (limit|window)|context (window|length)|too many (input )?tokens/i;
const CONTENT_POLICY_MESSAGE = /content filtering|content policy|usage polic/i;

/**
 * Our code for an error Anthropic reported (as HTTP body or in-stream `error` event). Context and
 * policy failures arrive as plain `invalid_request_error`s, so the message decides.
 */
export function errorCodeForAnthropicError(type: string | undefined, message: string): ErrorCode {
  switch (type) {
    case 'invalid_request_error':
      if (CONTEXT_LENGTH_MESSAGE.test(message)) return 'context_length_exceeded';
      if (CONTENT_POLICY_MESSAGE.test(message)) return 'content_policy_violation';
      return 'invalid_request';
    case 'not_found_error':
      return 'model_not_found';
    case 'request_too_large':
      return 'request_too_large';
    case 'rate_limit_error':
      return 'rate_limited';
    case 'overloaded_error':
      return 'upstream_unavailable';
    case 'timeout_error':
      return 'upstream_timeout';
    default:
      // authentication, permission, billing and api errors are the upstream's problem, not the client's
      return 'upstream_error';
  }
}

/** The error for an in-stream Anthropic `error` event (`{"type":"error","error":{type,message}}`). */
export function anthropicStreamError(payload: unknown): BreakwaterError {
  const error = (payload as { error?: { type?: unknown; message?: unknown } } | null)?.error;
  const type = typeof error?.type === 'string' ? error.type : undefined;
  const message = typeof error?.message === 'string' ? error.message : 'upstream stream failed';
  return new BreakwaterError(errorCodeForAnthropicError(type, message), message, {
    reason: type ?? 'stream_error',
  });
}
