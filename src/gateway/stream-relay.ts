import { BreakwaterError, toBreakwaterError } from '../core/errors.js';
import { collectResponse, type Verdict } from '../core/pipeline.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart, Usage } from '../core/types.js';
import { estimatedUsage, outputCharacters } from '../core/usage-estimate.js';

/** How a relayed stream ended. */
export interface RelayEnd {
  usage: Usage | undefined;
  /** Undefined when the stream finished and passed validation. */
  failure: BreakwaterError | undefined;
  /** The assembled answer, when it was kept (validation or idempotent replay). */
  response: CanonicalResponse | undefined;
}

/** What the relay needs besides the parts. */
export interface RelayOptions {
  request: CanonicalRequest;
  /** The client's (and deadline's) signal: aborted means the client left or time ran out. */
  signal: AbortSignal;
  /** Validates the whole answer once it finished; its parts are kept only when this is set. */
  validate?: ((response: CanonicalResponse) => Promise<Verdict | undefined> | Verdict | undefined) | undefined;
  /** Cuts the stream when output degenerates (SPEC SA-7). */
  guard?: { push(text: string): Verdict | undefined } | undefined;
  /** Keep the assembled answer even without validation (idempotent replay). */
  keepResponse?: boolean;
  /** Called once, after the last part, with usage and outcome. */
  onEnd(end: RelayEnd): void;
}

const clientClosed = () => new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false });

const DONE: IteratorResult<StreamPart> = Object.freeze({ value: undefined, done: true });

/**
 * Passes upstream parts through. A failure after the first part becomes an `error` part (the
 * encoder turns it into the dialect's in-band error), never a clean end: a cut stream, a stream
 * that ends without finishing, and a finished answer that fails validation all end that way.
 */
export function relayStream(head: StreamPart[], rest: AsyncIterator<StreamPart>, options: RelayOptions): AsyncIterableIterator<StreamPart> {
  return new RelayedParts(head, rest, options);
}

/**
 * The relay as a state machine rather than an async generator: a relayed part costs one `then` on
 * the upstream's promise instead of a generator request, an await and a yield (SPEC PERF-4: the
 * promises a waiting stream holds at each scavenge are what gets promoted).
 */
class RelayedParts implements AsyncIterableIterator<StreamPart> {
  private usage: Usage | undefined;
  private outputChars = 0;
  private finish: StreamPart | undefined;
  private failure: BreakwaterError | undefined;
  private readonly kept: StreamPart[] | undefined;
  private headIndex = 0;
  /** streaming → (finish handed out) closing → done. */
  private state: 'streaming' | 'closing' | 'done' = 'streaming';
  private ended = false;
  private readonly onRest = (next: IteratorResult<StreamPart>): IteratorResult<StreamPart> | Promise<IteratorResult<StreamPart>> => this.relay(next);
  private readonly onThrown = (thrown: unknown): IteratorResult<StreamPart> => this.thrown(thrown);

  constructor(
    private readonly head: StreamPart[],
    private readonly rest: AsyncIterator<StreamPart>,
    private readonly options: RelayOptions,
  ) {
    this.kept = options.validate || options.keepResponse ? [] : undefined;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<StreamPart>> {
    if (this.state === 'done') return Promise.resolve(DONE);
    if (this.state === 'closing') return Promise.resolve(this.close());
    if (this.headIndex < this.head.length) {
      const part = this.head[this.headIndex++]!;
      if (this.observe(part)) return Promise.resolve(this.finished(part));
      return Promise.resolve({ value: part, done: false });
    }
    return this.rest.next().then(this.onRest, this.onThrown);
  }

  /** The consumer stopped early (client gone): stop the upstream too. */
  return(): Promise<IteratorResult<StreamPart>> {
    if (this.state !== 'done') {
      this.state = 'done';
      this.end();
    }
    return Promise.resolve(DONE);
  }

  private relay(next: IteratorResult<StreamPart>): IteratorResult<StreamPart> | Promise<IteratorResult<StreamPart>> {
    if (this.state !== 'streaming') return DONE;
    if (next.done) {
      this.failure = new BreakwaterError('upstream_error', 'the upstream stream ended without finishing', { reason: 'stream_truncated' });
      return this.close();
    }
    const part = next.value;
    if (this.observe(part)) return this.finished(part);
    const verdict = this.options.guard && part.type === 'text-delta' ? this.options.guard.push(part.text) : undefined;
    if (verdict && !verdict.ok) {
      void this.rest.return?.();
      this.failure = new BreakwaterError('semantic_validation_failed', `output degenerated: ${verdict.reasons.join('; ')}`, { reason: 'degenerate' });
      return this.close();
    }
    return { value: part, done: false };
  }

  private observe(part: StreamPart): boolean {
    this.kept?.push(part);
    if (part.type === 'usage') this.usage = part.usage;
    else if (part.type === 'finish') {
      if (part.usage) this.usage = part.usage;
      this.finish = part;
      return true;
    } else this.outputChars += outputCharacters(part);
    return false;
  }

  /** The upstream finished: validate the whole answer if asked, then hand out `finish`. */
  private finished(finish: StreamPart): IteratorResult<StreamPart> | Promise<IteratorResult<StreamPart>> {
    drainInBackground(this.rest);
    const validate = this.options.validate;
    if (!validate) return this.handOut(finish);
    return Promise.resolve()
      .then(() => validate(collectResponse(this.kept!)))
      .then((verdict) => {
        if (this.state !== 'streaming') return DONE;
        if (!verdict || verdict.ok) return this.handOut(finish);
        this.failure = new BreakwaterError('semantic_validation_failed', `the answer failed validation: ${verdict.reasons.join('; ')}`, { reason: 'validation' });
        return this.close();
      }, this.onThrown);
  }

  private handOut(finish: StreamPart): IteratorResult<StreamPart> {
    this.state = 'closing';
    return { value: finish, done: false };
  }

  private thrown(thrown: unknown): IteratorResult<StreamPart> {
    if (this.state !== 'streaming') return DONE;
    this.failure = this.options.signal.aborted ? signalError(this.options.signal) : toBreakwaterError(thrown);
    return this.close();
  }

  /** Ends the relay: reports the end, then hands out the in-band error if there is one. */
  private close(): IteratorResult<StreamPart> {
    if (this.state === 'done') return DONE;
    this.state = 'done';
    this.end();
    const failure = this.failure;
    if (!failure || failure.details.reason === 'client_closed') return DONE;
    const usage = this.usage;
    return { value: usage ? { type: 'error', error: failure, usage } : { type: 'error', error: failure }, done: false };
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.finish && !this.failure) {
      this.failure = clientClosed();
      void this.rest.return?.();
    }
    const failure = this.failure;
    if (failure) this.usage = partialUsage(this.options.request, this.usage, this.outputChars);
    this.options.onEnd({ usage: this.usage, failure, response: this.kept && !failure ? collectResponse(this.kept) : undefined });
  }
}

function signalError(signal: AbortSignal): BreakwaterError {
  const reason: unknown = signal.reason;
  return reason instanceof BreakwaterError ? reason : clientClosed();
}

/**
 * Usage of a stream that ended early: upstreams report usage last, so what was produced is
 * counted from the text that went out (flagged estimated) unless the upstream already said more.
 */
export function partialUsage(request: CanonicalRequest, reported: Usage | undefined, outputChars: number): Usage {
  const counted = estimatedUsage(request, outputChars);
  if (!reported) return counted;
  if (reported.outputTokens >= counted.outputTokens && reported.inputTokens > 0) return reported;
  return { ...reported, inputTokens: reported.inputTokens || counted.inputTokens, outputTokens: Math.max(reported.outputTokens, counted.outputTokens), estimated: true };
}

/**
 * Reads what an upstream sends after `finish` (a terminator, trailing usage) so the adapter
 * completes normally: its timers stop and its keep-alive connection goes back to the pool.
 */
function drainInBackground(rest: AsyncIterator<StreamPart>): void {
  void (async () => {
    try {
      while (!(await rest.next()).done);
    } catch {
      // The answer was already complete; a failure while draining changes nothing for the client.
    }
  })();
}
