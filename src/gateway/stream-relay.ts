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

/**
 * Passes upstream parts through. A failure after the first part becomes an `error` part (the
 * encoder turns it into the dialect's in-band error), never a clean end: a cut stream, a stream
 * that ends without finishing, and a finished answer that fails validation all end that way.
 */
export async function* relayStream(head: StreamPart[], rest: AsyncIterator<StreamPart>, options: RelayOptions): AsyncGenerator<StreamPart> {
  let usage: Usage | undefined;
  let outputChars = 0;
  let finish: StreamPart | undefined;
  let failure: BreakwaterError | undefined;
  const kept: StreamPart[] | undefined = options.validate || options.keepResponse ? [] : undefined;
  const observe = (part: StreamPart): boolean => {
    kept?.push(part);
    if (part.type === 'usage') usage = part.usage;
    else if (part.type === 'finish') {
      if (part.usage) usage = part.usage;
      return true;
    } else outputChars += outputCharacters(part);
    return false;
  };
  try {
    for (const part of head) {
      if (observe(part)) {
        finish = part;
        break;
      }
      yield part;
    }
    while (!finish) {
      const next = await rest.next();
      if (next.done) break;
      if (observe(next.value)) finish = next.value;
      else {
        const verdict = options.guard && next.value.type === 'text-delta' ? options.guard.push(next.value.text) : undefined;
        if (verdict && !verdict.ok) {
          void rest.return?.();
          failure = new BreakwaterError('semantic_validation_failed', `output degenerated: ${verdict.reasons.join('; ')}`, { reason: 'degenerate' });
          break;
        }
        yield next.value;
      }
    }
    if (failure) {
      // Cut by the guard: already reported below.
    } else if (finish) {
      drainInBackground(rest);
      const verdict = options.validate ? await options.validate(collectResponse(kept!)) : undefined;
      if (verdict && !verdict.ok) {
        failure = new BreakwaterError('semantic_validation_failed', `the answer failed validation: ${verdict.reasons.join('; ')}`, { reason: 'validation' });
      } else {
        yield finish;
      }
    } else {
      failure = new BreakwaterError('upstream_error', 'the upstream stream ended without finishing', { reason: 'stream_truncated' });
    }
  } catch (thrown) {
    failure = options.signal.aborted ? signalError(options.signal) : toBreakwaterError(thrown);
  } finally {
    if (!finish && !failure) {
      // The consumer stopped early (client gone): stop the upstream too.
      failure = clientClosed();
      void rest.return?.();
    }
    if (failure) usage = partialUsage(options.request, usage, outputChars);
    options.onEnd({ usage, failure, response: kept && !failure ? collectResponse(kept) : undefined });
  }
  if (failure && failure.details.reason !== 'client_closed') {
    yield usage ? { type: 'error', error: failure, usage } : { type: 'error', error: failure };
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
