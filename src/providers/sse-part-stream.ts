import type { BreakwaterError } from '../core/errors.js';
import type { StreamPart } from '../core/types.js';
import type { SseEvent } from '../protocols/sse.js';
import type { SseEventSource } from './upstream-sse-call.js';

/** Turns one upstream event into parts; `end()` runs once at EOF. Either may throw. */
export interface SsePartDecoder {
  push(event: SseEvent): StreamPart[];
  end(): StreamPart[];
}

const NO_PARTS: readonly StreamPart[] = Object.freeze([]);
const DONE: IteratorResult<StreamPart> = Object.freeze({ value: undefined, done: true });

/**
 * An adapter's parts read straight off the upstream's events: events are taken synchronously and
 * decoded, and only an empty queue costs a wait, settled from undici's data callback. A streamed
 * token then costs the one promise the AsyncIterator protocol needs, where an async generator over
 * the events cost an async hop per event and another per part (SPEC PERF-4: what a waiting stream
 * holds at each scavenge is what gets promoted).
 *
 * `failure` maps what the events or the decoder threw: an error to throw, or undefined to end the
 * stream quietly (a stall after the answer finished). Either way the stream is over.
 */
export class SsePartStream implements AsyncIterableIterator<StreamPart> {
  private parts: readonly StreamPart[] = NO_PARTS;
  private index = 0;
  private over = false;
  private resolveWait: ((result: IteratorResult<StreamPart>) => void) | undefined;
  private rejectWait: ((error: unknown) => void) | undefined;
  private readonly onReadable = (): void => this.settleWait();

  constructor(
    private readonly events: SseEventSource,
    private readonly decoder: SsePartDecoder,
    private readonly failure: (error: unknown) => BreakwaterError | undefined,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamPart>> {
    let result: IteratorResult<StreamPart> | undefined;
    try {
      result = this.poll();
    } catch (error) {
      return this.failed(error);
    }
    if (result !== undefined) return Promise.resolve(result);
    return new Promise((resolve, reject) => {
      this.resolveWait = resolve;
      this.rejectWait = reject;
      this.events.whenReadable(this.onReadable);
    });
  }

  return(): Promise<IteratorResult<StreamPart>> {
    this.over = true;
    this.parts = NO_PARTS;
    return this.events.return!().then(() => DONE);
  }

  /** The next part if one is at hand, undefined when the events have none yet. */
  private poll(): IteratorResult<StreamPart> | undefined {
    for (;;) {
      if (this.index < this.parts.length) return { value: this.parts[this.index++]!, done: false };
      if (this.over) return DONE;
      if (!this.events.readable) return undefined;
      const next = this.events.take();
      this.index = 0;
      if (next.done) {
        this.over = true;
        this.parts = this.decoder.end();
      } else {
        this.parts = this.decoder.push(next.value);
      }
    }
  }

  private settleWait(): void {
    const resolve = this.resolveWait!;
    const reject = this.rejectWait!;
    this.resolveWait = this.rejectWait = undefined;
    let result: IteratorResult<StreamPart> | undefined;
    try {
      result = this.poll();
    } catch (error) {
      this.failed(error).then(resolve, reject);
      return;
    }
    if (result !== undefined) return resolve(result);
    // The events held nothing that became a part: wait on.
    this.resolveWait = resolve;
    this.rejectWait = reject;
    this.events.whenReadable(this.onReadable);
  }

  private failed(error: unknown): Promise<IteratorResult<StreamPart>> {
    this.over = true;
    this.parts = NO_PARTS;
    const thrown = this.failure(error);
    return thrown === undefined ? Promise.resolve(DONE) : Promise.reject(thrown);
  }
}

/**
 * An adapter stream that opens its upstream call on the first `next()`, as an async generator
 * would, then hands every later call straight to the opened parts (no extra hop per part).
 */
export class DeferredParts implements AsyncIterableIterator<StreamPart> {
  private opened: AsyncIterator<StreamPart> | undefined;
  private opening: Promise<AsyncIterator<StreamPart>> | undefined;
  private closed = false;

  constructor(private readonly open: () => Promise<AsyncIterator<StreamPart>>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamPart>> {
    if (this.opened) return this.opened.next();
    if (this.closed) return Promise.resolve(DONE);
    this.opening ??= this.open();
    return this.opening.then(
      (opened) => {
        this.opened = opened;
        return this.closed ? DONE : opened.next();
      },
      (error: unknown) => {
        this.closed = true;
        throw error;
      },
    );
  }

  return(): Promise<IteratorResult<StreamPart>> {
    this.closed = true;
    if (this.opened) return this.opened.return?.() ?? Promise.resolve(DONE);
    // Still opening: close the call once it is open (an async generator would run to its first yield first).
    this.opening?.then((opened) => opened.return?.(), () => {});
    return Promise.resolve(DONE);
  }
}
