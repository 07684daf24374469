import { BreakwaterError, ERROR_CODES, type ErrorCode } from '../core/errors.js';

/** Why an execution stopped before the agent returned. */
export type StopReason = 'cancel' | 'lost' | 'shutdown' | 'parked';

/**
 * Thrown through agent code when its execution stops: at the next step boundary, or out of an
 * in-flight step whose signal aborted. The execution, not the agent, decides what it means.
 */
export class RunStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`the run stopped here (${reason})`);
    this.name = 'RunStopped';
  }
}

/** A step failure as the journal keeps it. */
export interface RecordedError {
  code: string;
  message: string;
  reason?: string | undefined;
}

/** The JSON the journal and `run.failed` keep of an error: never a stack or a cause. */
export function recordError(error: unknown): RecordedError {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code in ERROR_CODES) {
    const known = error as BreakwaterError;
    return { code: known.code, message: known.message, ...(known.details?.reason ? { reason: known.details.reason } : {}) };
  }
  return { code: 'step_failed', message: error instanceof Error ? error.message : String(error) };
}

/** The error a replayed failed step throws again. */
export function reviveError(recorded: RecordedError): Error {
  if (recorded.code in ERROR_CODES) return new BreakwaterError(recorded.code as ErrorCode, recorded.message, recorded.reason ? { reason: recorded.reason } : {});
  const error = new Error(recorded.message);
  (error as Error & { code: string }).code = recorded.code;
  return error;
}

/**
 * Worth another attempt: anything but an error that says it is not retryable (checked by shape, so
 * an error class from another copy of the library counts too).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RunStopped) return false;
  const flag = (error as { retryable?: unknown } | null)?.retryable;
  return typeof flag === 'boolean' ? flag : true;
}
