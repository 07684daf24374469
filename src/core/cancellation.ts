/**
 * A request's cancellation, built so that the common case (nobody ever aborts) costs no
 * AbortSignal: Node 20 spends ~2 µs making one (an EventTarget whose prototype is swapped
 * afterwards) and more on every listener added and removed, on every request. Hot consumers
 * listen through `onAbort`; whatever needs a real AbortSignal (undici, timers, streams) gets one
 * made on first use and aborted with the same reason.
 */
export class Cancellation {
  private controller: AbortController | undefined;
  private listeners: Array<(reason: unknown) => void> | undefined;
  private why: unknown;
  private done = false;

  get aborted(): boolean {
    return this.done;
  }

  get reason(): unknown {
    return this.why;
  }

  /** An AbortSignal that follows this cancellation (already aborted if it was). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /** Calls `listener` once, with the reason, when aborted (at once if it already was). */
  onAbort(listener: (reason: unknown) => void): void {
    if (this.done) listener(this.why);
    else (this.listeners ??= []).push(listener);
  }

  /** Removes a listener added with {@link onAbort}. */
  offAbort(listener: (reason: unknown) => void): void {
    const listeners = this.listeners;
    if (!listeners) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }

  /** Aborts with `reason`; the first reason wins. */
  abort(reason: unknown): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }
}

/** A context that can be cancelled: always through `signal`, more cheaply through `cancel` when the server made one. */
export interface Cancellable {
  signal: AbortSignal;
  cancel?: Cancellation | undefined;
}

/** Whether the context was cancelled, without making its signal. */
export function isCancelled(ctx: Cancellable): boolean {
  return ctx.cancel ? ctx.cancel.aborted : ctx.signal.aborted;
}

/** Why the context was cancelled (undefined while it was not). */
export function cancelReason(ctx: Cancellable): unknown {
  return ctx.cancel ? ctx.cancel.reason : ctx.signal.reason;
}

/** Calls `listener` once when the context is cancelled; the caller checks {@link isCancelled} first. */
export function listenForCancel(ctx: Cancellable, listener: () => void): void {
  if (ctx.cancel) ctx.cancel.onAbort(listener);
  else ctx.signal.addEventListener('abort', listener, { once: true });
}

/** Removes a listener added with {@link listenForCancel}. */
export function stopListeningForCancel(ctx: Cancellable, listener: () => void): void {
  if (ctx.cancel) ctx.cancel.offAbort(listener);
  else ctx.signal.removeEventListener('abort', listener);
}
