import { cancelReason, isCancelled, listenForCancel, stopListeningForCancel } from '../core/cancellation.js';
import { startTimer, type CancelTimer } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { CallContext } from '../core/provider.js';

/** Why an attempt timed out (SPEC UP-4), as `details.reason`. */
export type TimeoutReason = 'headers_timeout' | 'first_token_timeout' | 'idle_timeout' | 'total_timeout';

const TIMEOUT_MESSAGES: Readonly<Record<TimeoutReason, string>> = Object.freeze({
  headers_timeout: 'sent no response headers within',
  first_token_timeout: 'sent no first token within',
  idle_timeout: 'stalled: no data for',
  total_timeout: 'did not finish the attempt within',
});


/** An `upstream_timeout` naming the provider and the limit, never the URL. */
export function upstreamTimeoutError(reason: TimeoutReason, ms: number, provider: string): BreakwaterError {
  return new BreakwaterError('upstream_timeout', `upstream '${provider}' ${TIMEOUT_MESSAGES[reason]} ${ms} ms`, { reason, provider });
}

function transport(reason: string, message: string, provider: string, cause: unknown): BreakwaterError {
  return new BreakwaterError('upstream_error', message, { reason, provider, cause, retryable: true });
}

function errorCodeOf(err: unknown): string {
  if (typeof err !== 'object' || err === null) return '';
  const { code, cause } = err as { code?: unknown; cause?: unknown };
  if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  // undici wraps socket failures; the system code underneath says whether it was a reset.
  const inner = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof inner === 'string' ? inner : typeof code === 'string' ? code : '';
}

/**
 * Classifies a transport failure. Messages name the provider and what to check, never the URL:
 * undici's own messages carry host and port, so they stay in `cause`, for logs only.
 */
export function transportError(err: unknown, provider: string): BreakwaterError {
  if (err instanceof BreakwaterError) return err;
  const code = errorCodeOf(err);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new BreakwaterError('upstream_timeout', `could not connect to upstream '${provider}' in time`, {
        reason: 'connect_timeout',
        provider,
        cause: err,
      });
    case 'ECONNREFUSED':
      return transport('connection_refused', `upstream '${provider}' refused the connection; check that it is running and its baseUrl`, provider, err);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
    case 'UND_ERR_SOCKET':
      return transport('connection_reset', `upstream '${provider}' closed the connection unexpectedly`, provider, err);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return transport('dns_error', `the host name of upstream '${provider}' did not resolve; check its baseUrl`, provider, err);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return transport('host_unreachable', `upstream '${provider}' is unreachable from this host`, provider, err);
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return transport('truncated_body', `upstream '${provider}' ended its answer early`, provider, err);
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return transport('client_closed', `the connection pool of upstream '${provider}' is closed`, provider, err);
  }
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('ERR_SSL')) {
    return transport('tls_error', `TLS with upstream '${provider}' failed (${code}); check its certificate and baseUrl`, provider, err);
  }
  return transport('network_error', `the call to upstream '${provider}' failed${code ? ` (${code})` : ''}`, provider, err);
}

/**
 * One upstream call's abort and timer state. Every timer is a `clock.sleep` race (so tests drive
 * it with a ManualClock) that aborts the attempt: through `signal`, which undici turns into a
 * destroyed socket, or through the `onAbort` callback of a call that aborts undici itself. The
 * client's `ctx.signal` feeds the same abort. `finish()` cancels what is still pending.
 */
export class Attempt {
  // Made only when a caller asks for `signal`: a non-streamed call aborts undici through
  // `onAbort` instead, which saves an AbortController (~1% of gateway CPU) per request.
  private controller: AbortController | undefined;
  private reason: BreakwaterError | undefined;
  private abortListener: ((reason: BreakwaterError) => void) | undefined;
  private readonly cancels: CancelTimer[] = [];
  private lastActivity = 0;
  /** True while the caller waits for upstream bytes; a slow consumer is not an idle upstream. */
  private reading = true;
  private finished = false;
  private readonly onClientAbort = (): void => this.abort(this.clientAbortError());

  constructor(
    private readonly ctx: CallContext,
    private readonly provider: string,
  ) {
    if (isCancelled(ctx)) this.abort(this.clientAbortError());
    else listenForCancel(ctx, this.onClientAbort);
    this.timer(ctx.timeouts.totalMs, 'total_timeout');
  }

  /** Aborted by any timeout, the client, or `abort()`; pass it to undici. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** True once a timeout, the client or `abort()` stopped the attempt. */
  get aborted(): boolean {
    return this.reason !== undefined;
  }

  /** Calls `listener` with the reason when the attempt is aborted (at once if it already was). */
  onAbort(listener: (reason: BreakwaterError) => void): void {
    if (this.reason) listener(this.reason);
    else this.abortListener = listener;
  }

  /** Starts a timer that aborts the attempt; call the returned function to stop it early. */
  timer(ms: number, reason: TimeoutReason): CancelTimer | undefined {
    if (this.finished || !(ms > 0) || !Number.isFinite(ms)) return undefined;
    const cancel = startTimer(this.ctx.clock, ms, () => this.abort(upstreamTimeoutError(reason, ms, this.provider)));
    this.cancels.push(cancel);
    return cancel;
  }

  /**
   * Starts the inter-chunk idle watch. One timer re-arms itself from the last activity, so a
   * chunk costs a `clock.now()` instead of a new timer.
   */
  startIdle(): void {
    const ms = this.ctx.timeouts.idleMs;
    if (this.finished || !(ms > 0) || !Number.isFinite(ms)) return;
    this.lastActivity = this.ctx.clock.now();
    this.armIdle(ms, ms);
  }

  private armIdle(ms: number, wait: number): void {
    if (this.finished || this.reason) return;
    const cancel = startTimer(this.ctx.clock, wait, () => {
      const index = this.cancels.indexOf(cancel);
      if (index !== -1) this.cancels.splice(index, 1);
      if (!this.reading) return this.armIdle(ms, ms);
      const quiet = this.ctx.clock.now() - this.lastActivity;
      if (quiet >= ms) this.abort(upstreamTimeoutError('idle_timeout', ms, this.provider));
      else this.armIdle(ms, ms - quiet);
    });
    this.cancels.push(cancel);
  }

  /** Records that bytes arrived (resets the idle watch). */
  touch(): void {
    this.lastActivity = this.ctx.clock.now();
  }

  /** Marks the start or end of a wait for upstream bytes; only waits count as idle. */
  setReading(reading: boolean): void {
    if (reading && !this.reading) this.lastActivity = this.ctx.clock.now();
    this.reading = reading;
  }

  /** Aborts the upstream call with `reason` (first reason wins). */
  abort(reason: BreakwaterError): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.stopTimers();
    this.abortListener?.(reason);
  }

  /** The error to throw for `err`: the abort reason if the attempt was aborted, else a transport error. */
  failure(err: unknown): BreakwaterError {
    return this.reason ?? transportError(err, this.provider);
  }

  /** Ends the attempt: timers cancelled, client listener removed. Idempotent. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.stopTimers();
    stopListeningForCancel(this.ctx, this.onClientAbort);
  }

  private stopTimers(): void {
    for (const cancel of this.cancels) cancel();
    this.cancels.length = 0;
  }

  private clientAbortError(): BreakwaterError {
    const reason: unknown = cancelReason(this.ctx);
    if (reason instanceof BreakwaterError) return reason;
    return new BreakwaterError('upstream_error', 'aborted', { reason: 'aborted', provider: this.provider, retryable: false });
  }
}
