/** Every error code Breakwater can answer with, mapped to its HTTP status and retryability (SPEC API-7). */
export const ERROR_CODES = Object.freeze({
  invalid_request: { status: 400, retryable: false },
  context_length_exceeded: { status: 400, retryable: false },
  content_policy_violation: { status: 400, retryable: false },
  invalid_api_key: { status: 401, retryable: false },
  budget_exceeded: { status: 402, retryable: false },
  model_not_allowed: { status: 403, retryable: false },
  permission_denied: { status: 403, retryable: false },
  model_not_found: { status: 404, retryable: false },
  /** `POST /v1/runs` named an agent no worker registered. */
  agent_not_found: { status: 404, retryable: false },
  not_found: { status: 404, retryable: false },
  method_not_allowed: { status: 405, retryable: false },
  idempotency_conflict: { status: 409, retryable: false },
  /** A cancel or signal for a run that already ended. */
  run_finished: { status: 409, retryable: false },
  /** An approval for a run that is not waiting for it. */
  run_not_waiting: { status: 409, retryable: false },
  /** A run crossed one of its bounds: steps, wall clock, tokens or cost (SPEC LR-5). */
  run_limit_exceeded: { status: 422, retryable: false },
  cursor_expired: { status: 410, retryable: false },
  request_too_large: { status: 413, retryable: false },
  /** A step output (or tool result) over `runs.stepOutputMaxBytes` (SPEC LR-14). */
  payload_too_large: { status: 413, retryable: false },
  unsupported_media_type: { status: 415, retryable: false },
  rate_limited: { status: 429, retryable: true },
  queue_timeout: { status: 429, retryable: true },
  internal_error: { status: 500, retryable: false },
  /** A resumed run's step has another name than the journal recorded at its position (SPEC LR-9). */
  workflow_diverged: { status: 500, retryable: false },
  upstream_error: { status: 502, retryable: true },
  semantic_validation_failed: { status: 502, retryable: false },
  upstream_unavailable: { status: 503, retryable: true },
  overloaded: { status: 503, retryable: true },
  upstream_timeout: { status: 504, retryable: true },
  /** A run step outlived its `timeoutMs`. */
  step_timeout: { status: 504, retryable: true },
  /** An explicit cancel or an abandoned resumable stream; 499 as proxies log a client-closed request. */
  cancelled: { status: 499, retryable: false },
} as const);

/** A stable, string error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Facts about a failed upstream call that are safe to show a client (never credentials or URLs). */
export interface UpstreamErrorDetails {
  provider?: string;
  deployment?: string;
  upstreamStatus?: number;
  /** A short machine-readable reason, e.g. `connection_reset`, `first_token_timeout`. */
  reason?: string;
  attempts?: number;
  /** Milliseconds the upstream asked us to wait (Retry-After), when it said. */
  retryAfterMs?: number;
  /** Milliseconds the request spent in upstream attempts, for `x-breakwater-overhead-ms`. */
  upstreamMs?: number;
}

/** Options for {@link BreakwaterError}. */
export interface BreakwaterErrorOptions extends UpstreamErrorDetails {
  param?: string;
  cause?: unknown;
  /** Overrides the table's retryability, e.g. a 400 that a larger-context model could serve. */
  retryable?: boolean;
  /** Extra response headers (e.g. Retry-After, x-ratelimit-*). */
  headers?: Record<string, string>;
}

/**
 * The one error type of Breakwater: a stable string code, an HTTP status and a retryable flag.
 * The OpenAI or Anthropic JSON shape is produced only at the edge.
 */
export class BreakwaterError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly param: string | undefined;
  readonly details: UpstreamErrorDetails;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: BreakwaterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = ERROR_CODES[code];
    this.name = 'BreakwaterError';
    this.code = code;
    this.status = entry.status;
    this.retryable = options.retryable ?? entry.retryable;
    this.param = options.param;
    this.headers = options.headers;
    const { param: _p, cause: _c, retryable: _r, headers: _h, ...details } = options;
    this.details = details;
  }

  /** A copy with more upstream facts attached (e.g. the attempt count once known). */
  withDetails(details: UpstreamErrorDetails): BreakwaterError {
    return new BreakwaterError(this.code, this.message, {
      ...this.details,
      ...details,
      param: this.param,
      cause: this.cause,
      retryable: this.retryable,
      headers: this.headers,
    });
  }
}

/** True when `value` is a {@link BreakwaterError}. */
export function isBreakwaterError(value: unknown): value is BreakwaterError {
  return value instanceof BreakwaterError;
}

/** Wraps anything thrown into a {@link BreakwaterError}, keeping the original as `cause`. */
export function toBreakwaterError(value: unknown): BreakwaterError {
  if (value instanceof BreakwaterError) return value;
  return new BreakwaterError('internal_error', 'internal error', { cause: value });
}

/** Maps an upstream HTTP status to our error code (SPEC UP-5 classification). */
export function errorCodeForUpstreamStatus(status: number): ErrorCode {
  if (status === 408) return 'upstream_timeout';
  if (status === 429) return 'rate_limited';
  if (status === 529 || status === 503) return 'upstream_unavailable';
  if (status === 504) return 'upstream_timeout';
  if (status >= 500) return 'upstream_error';
  if (status === 401 || status === 403) return 'upstream_error';
  if (status === 404) return 'model_not_found';
  if (status === 413) return 'request_too_large';
  return 'invalid_request';
}

/** Upstream statuses worth another attempt (SPEC UP-5). */
export function isRetryableUpstreamStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504 || status === 529;
}

/**
 * The error for a non-2xx upstream answer: code from the status, retryable only for the statuses
 * of SPEC UP-5, the provider's message kept (it is the provider's reason, never our credentials).
 */
export function upstreamHttpError(status: number, message: string, details: UpstreamErrorDetails = {}): BreakwaterError {
  const code = errorCodeForUpstreamStatus(status);
  return new BreakwaterError(code, message, {
    ...details,
    upstreamStatus: status,
    retryable: isRetryableUpstreamStatus(status),
  });
}
