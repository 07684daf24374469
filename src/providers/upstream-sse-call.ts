import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { CancelTimer } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { HeaderBag } from '../protocols/rate-limit-headers.js';
import type { SseEvent } from '../protocols/sse.js';
import type { Attempt } from './upstream-attempt.js';

/**
 * An upstream's events: iterate them, or read them synchronously (`readable`, `take`,
 * `whenReadable`) to skip a promise per event.
 */
export interface SseEventSource extends AsyncIterableIterator<SseEvent> {
  readonly readable: boolean;
  whenReadable(listener: () => void): void;
  take(): IteratorResult<SseEvent>;
}

/** The answer's head: a 2xx opens `events`; anything else carries its body (up to the limit) as text. */
export type SseHead = { status: number; headers: HeaderBag; events: SseEventSource } | { status: number; headers: HeaderBag; text: string };

/** Parsed events held before undici is paused: a consumer that stops reading stops the socket. */
const HIGH_WATER_EVENTS = 64;
const STREAM = Object.freeze({ stream: true });
/** Why undici stops a call whose error body was read far enough; never seen by a caller. */
const CALL_SETTLED = new Error('the call was already settled');

/**
 * One upstream SSE call straight from undici's dispatch callbacks: bytes go into the SSE parser
 * as they arrive and events wait in a short queue for `next()`. Compared with `dispatcher.request`
 * this skips the body Readable, its async iterator and an AbortController per stream (~15% of the
 * bytes the gateway allocated per streamed token, in sampling heap profiles). Backpressure: undici is paused
 * while the queue is full and resumed once the consumer drains it. The first parsed event stops
 * the first-token timer and starts the idle watch; `return()` before the end aborts the call so
 * the socket closes.
 */
class SseCall implements Dispatcher.DispatchHandler, SseEventSource {
  private controller: Dispatcher.DispatchController | undefined;
  private readonly parser: EventSourceParser;
  private readonly decoder = new TextDecoder();
  private readonly queue: SseEvent[] = [];
  private head = 0;
  private ended = false;
  private error: unknown;
  /** The consumer waiting for data, the end or a failure. */
  private listener: (() => void) | undefined;
  /** Until the head settles: the head's callbacks and an error body being read. */
  private opening: { resolve: (head: SseHead) => void; reject: (error: unknown) => void; errorBody?: Buffer[]; size: number; limit: number } | undefined;
  private status = 0;
  private headers: HeaderBag = {};

  constructor(
    private readonly attempt: Attempt,
    private headersTimer: CancelTimer | undefined,
    private firstToken: CancelTimer | undefined,
    errorLimit: number,
    resolve: (head: SseHead) => void,
    reject: (error: unknown) => void,
  ) {
    this.opening = { resolve, reject, size: 0, limit: errorLimit };
    this.parser = createParser({ onEvent: (event) => this.queue.push(event) });
    attempt.onAbort((reason) => {
      this.controller?.abort(reason);
      this.fail(reason);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.ended || this.error !== undefined) controller.abort(CALL_SETTLED);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: HeaderBag): void {
    this.headersTimer?.();
    this.headersTimer = undefined;
    this.status = status;
    this.headers = headers;
    if (status >= 300) this.opening!.errorBody = [];
    else this.settleHead({ status, headers, events: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.attempt.touch();
    const opening = this.opening;
    if (opening?.errorBody) return this.readErrorBody(controller, opening, chunk);
    if (this.ended || this.error !== undefined) return;
    this.parser.feed(this.decoder.decode(chunk, STREAM));
    if (this.queue.length > this.head) {
      if (this.firstToken !== undefined) {
        this.firstToken();
        this.firstToken = undefined;
        this.attempt.startIdle();
      }
      if (this.queue.length - this.head >= HIGH_WATER_EVENTS) controller.pause();
      this.notify();
    }
  }

  onResponseEnd(): void {
    const opening = this.opening;
    if (opening?.errorBody) return this.settleError(opening.errorBody);
    if (this.ended) return;
    // A last event without its blank line still counts; servers often end that way.
    this.parser.feed(`${this.decoder.decode()}\n\n`);
    this.ended = true;
    this.attempt.finish();
    this.notify();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** A transport failure or the attempt's abort: the head rejects, or the next `next()` throws. */
  fail(error: unknown): void {
    if (this.ended || this.error !== undefined) return;
    this.error = error;
    if (this.opening) {
      const { reject } = this.opening;
      this.opening = undefined;
      this.attempt.finish();
      reject(error);
      return;
    }
    this.notify();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<SseEvent>> {
    if (this.readable) {
      try {
        return Promise.resolve(this.take());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) =>
      this.whenReadable(() => {
        try {
          resolve(this.take());
        } catch (error) {
          reject(error);
        }
      }),
    );
  }

  /** True when `take()` has something to give: an event, the end, or the failure. */
  get readable(): boolean {
    return this.head < this.queue.length || this.error !== undefined || this.ended;
  }

  /** Calls `listener` once, synchronously from undici's callback, when `take()` has something again. */
  whenReadable(listener: () => void): void {
    this.attempt.setReading(true);
    this.listener = listener;
  }

  /** The next event, or done at the end; throws the failure. Only when `readable`. */
  take(): IteratorResult<SseEvent> {
    if (this.head < this.queue.length) {
      this.attempt.setReading(false);
      return { value: this.shift(), done: false };
    }
    if (this.error !== undefined) {
      this.attempt.finish();
      throw this.attempt.failure(this.error);
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<SseEvent>> {
    if (!this.ended && this.error === undefined) {
      this.attempt.abort(new BreakwaterError('upstream_error', 'aborted', { reason: 'aborted', retryable: false }));
    }
    this.attempt.finish();
    return { value: undefined, done: true };
  }

  private shift(): SseEvent {
    const event = this.queue[this.head++]!;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      if (this.controller?.paused) this.controller.resume();
    }
    return event;
  }

  private notify(): void {
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }

  private settleHead(head: SseHead): void {
    const opening = this.opening!;
    this.opening = undefined;
    opening.resolve(head);
  }

  private readErrorBody(controller: Dispatcher.DispatchController, opening: NonNullable<SseCall['opening']>, chunk: Buffer): void {
    const body = opening.errorBody!;
    if (opening.size + chunk.length <= opening.limit) {
      body.push(chunk);
      opening.size += chunk.length;
      return;
    }
    body.push(chunk.subarray(0, opening.limit - opening.size));
    this.settleError(body);
    controller.abort(CALL_SETTLED);
  }

  private settleError(body: Buffer[]): void {
    this.ended = true;
    this.settleHead({ status: this.status, headers: this.headers, text: Buffer.concat(body).toString('utf8') });
  }
}

/**
 * Sends one streaming request and resolves when its head arrives: a 2xx with its events, or a
 * non-2xx with its body text read up to `errorLimit`. The header timer stops at the head. Rejects
 * with the attempt's abort reason or undici's error; the caller turns either into a
 * BreakwaterError and finishes the attempt.
 */
export function dispatchForSse(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  attempt: Attempt,
  timers: { headers: CancelTimer | undefined; firstToken: CancelTimer | undefined },
  errorLimit: number,
): Promise<SseHead> {
  return new Promise((resolve, reject) => {
    const call = new SseCall(attempt, timers.headers, timers.firstToken, errorLimit, resolve, reject);
    try {
      dispatcher.dispatch(options, call);
    } catch (error) {
      call.fail(error);
    }
  });
}
