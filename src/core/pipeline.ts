import { runAttemptLoop, type AttemptPolicy, type AttemptRecord, type LoopContext, type Verdict } from './attempt-loop.js';
import type { Cancellable, Cancellation } from './cancellation.js';
import type { Clock } from './clock.js';
import { BreakwaterError } from './errors.js';
import { callContext, type AttemptTimeouts, type CallContext, type ProviderAdapter } from './provider.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart } from './types.js';

export type { AttemptRecord, AttemptPolicy, Verdict } from './attempt-loop.js';

/** One deployment the request may be served by, resolved and ready to call. */
export interface Candidate {
  /** `provider/model`, as reported in `x-breakwater-served-by`. */
  deployment: string;
  provider: string;
  upstreamModel: string;
  adapter: ProviderAdapter;
  timeouts: AttemptTimeouts;
}

/** The per-request inputs of the pipeline. */
export interface PipelineContext<C extends Candidate = Candidate> {
  requestId: string;
  clock: Clock;
  /** Aborted when the client goes away or the request deadline passes. */
  signal: AbortSignal;
  /** The client's cancellation without an AbortSignal, when the server made one. */
  cancel?: Cancellation | undefined;
  /** Clock time by which the answer must be complete. */
  deadlineAt: number;
  /** Extra upstream headers (trace context, simulator faults). */
  headers?: Record<string, string>;
  policy: AttemptPolicy<C>;
  /**
   * Ask upstreams for a stream even when the client wants one JSON answer, and assemble it here:
   * first-token and idle timeouts then guard non-streamed requests too, so a silent upstream costs
   * one first-token timeout instead of the whole deadline.
   */
  streamUpstream?: boolean;
  /** Semantic checks of a complete answer (validators). */
  validate?: (response: CanonicalResponse) => Verdict | undefined | Promise<Verdict | undefined>;
}

/** A served non-streaming answer. */
export interface GenerateOutcome<C extends Candidate = Candidate> {
  response: CanonicalResponse;
  candidate: C;
  attempts: AttemptRecord[];
  /** Milliseconds spent waiting on upstreams, for the overhead figure. */
  upstreamMs: number;
}

/** A stream that has produced its first content: from here on, failures are in-band. */
export interface StreamOutcome<C extends Candidate = Candidate> {
  candidate: C;
  attempts: AttemptRecord[];
  /** Parts already read from the upstream while deciding the attempt was good. */
  head: StreamPart[];
  /** The rest of the upstream stream. */
  rest: AsyncIterator<StreamPart>;
  /** Aborts the serving attempt (client gone, cancel). */
  abort(reason?: unknown): void;
}

function attemptContext(candidate: Candidate, ctx: PipelineContext<never>, cancellable: Cancellable, timeouts: AttemptTimeouts): CallContext {
  return callContext(candidate.upstreamModel, cancellable, ctx.clock, ctx.requestId, timeouts, ctx.headers);
}

/**
 * Serves a non-streaming request: attempts, retries and fallbacks until an answer passes the
 * validators (SPEC §2.2 step 6).
 */
export async function executeGenerate<C extends Candidate>(request: CanonicalRequest, candidates: readonly C[], ctx: PipelineContext<C>): Promise<GenerateOutcome<C>> {
  // A measurement, not a policy: sub-millisecond wall time, whatever clock drives the timeouts.
  const startedAt = performance.now();
  const outcome = await runAttemptLoop(
    candidates,
    ctx.policy,
    ctx,
    (candidate, cancellable, timeouts) => {
      const context = attemptContext(candidate, ctx as PipelineContext<never>, cancellable, timeouts);
      return ctx.streamUpstream ? generateViaStream(candidate.adapter, request, context) : candidate.adapter.generate(request, context);
    },
    (response) => ctx.validate?.(response),
  );
  outcome.release();
  return { response: outcome.result, candidate: outcome.candidate, attempts: outcome.attempts, upstreamMs: performance.now() - startedAt };
}

/** Reads a whole upstream stream into one answer; a stream that never finishes is an error. */
async function generateViaStream(adapter: ProviderAdapter, request: CanonicalRequest, context: CallContext): Promise<CanonicalResponse> {
  const parts: StreamPart[] = [];
  let finished = false;
  for await (const part of adapter.stream(request, context)) {
    parts.push(part);
    if (part.type === 'finish') finished = true;
  }
  if (!finished) throw new BreakwaterError('upstream_error', 'the upstream stream ended without finishing', { reason: 'stream_truncated' });
  const response = collectResponse(parts);
  const start = parts[0];
  if (start?.type === 'start' && start.rateLimit) response.rateLimit = start.rateLimit;
  return response;
}

/** An opened upstream stream, read up to its first content part. */
interface OpenedStream {
  head: StreamPart[];
  iterator: AsyncIterator<StreamPart>;
  /** True when the head already holds the whole answer (it finished before any content was sent). */
  complete: boolean;
}

async function openStream(adapter: ProviderAdapter, request: CanonicalRequest, context: CallContext): Promise<OpenedStream> {
  const iterator = adapter.stream(request, context)[Symbol.asyncIterator]();
  const head: StreamPart[] = [];
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return { head, iterator, complete: true };
      head.push(next.value);
      const type = next.value.type;
      if (type === 'finish') return { head, iterator, complete: true };
      // `start` and early `usage` are metadata; the first content decides the attempt is good.
      if (type !== 'start' && type !== 'usage') return { head, iterator, complete: false };
    }
  } catch (error) {
    void iterator.return?.();
    throw error;
  }
}

/**
 * The attempt loop's view of a stream's pipeline: attempts resolve at the first token. It reads
 * through to `ctx` rather than copying it: a copy would drop (spread) or force (assign) the lazy
 * `signal` getter, and a literal with a getter is what scripts/lint.mjs forbids.
 */
class FirstTokenLoopContext implements LoopContext {
  readonly resolvesAtFirstToken = true;

  constructor(private readonly ctx: PipelineContext<never>) {}

  get clock(): Clock {
    return this.ctx.clock;
  }

  get signal(): AbortSignal {
    return this.ctx.signal;
  }

  get cancel(): Cancellation | undefined {
    return this.ctx.cancel;
  }

  get deadlineAt(): number {
    return this.ctx.deadlineAt;
  }
}

/**
 * Opens a stream on the first candidate that produces content. Until then failures retry or fall
 * back invisibly to the client; the caller commits response headers only after this resolves,
 * so a request that fails early keeps its real HTTP status. An answer that finished before any
 * content (an empty answer) is validated whole and may still move on.
 */
export async function executeStream<C extends Candidate>(request: CanonicalRequest, candidates: readonly C[], ctx: PipelineContext<C>): Promise<StreamOutcome<C>> {
  const outcome = await runAttemptLoop(
    candidates,
    ctx.policy,
    new FirstTokenLoopContext(ctx),
    (candidate, cancellable, timeouts) => openStream(candidate.adapter, request, attemptContext(candidate, ctx as PipelineContext<never>, cancellable, timeouts)),
    (opened) => (opened.complete && ctx.validate ? ctx.validate(collectResponse(opened.head)) : undefined),
    (opened) => void opened.iterator.return?.(),
  );
  const { head, iterator } = outcome.result;
  // Only a linked attempt needs a wrapper to unlink it at the end; skipping it saves an async
  // layer per streamed event.
  const rest = outcome.linked ? unlinkWhenDone(iterator, outcome.release) : iterator;
  return { candidate: outcome.candidate, attempts: outcome.attempts, head, rest, abort: outcome.abort };
}

function unlinkWhenDone(iterator: AsyncIterator<StreamPart>, unlink: () => void): AsyncIterator<StreamPart> {
  return {
    async next() {
      try {
        const result = await iterator.next();
        if (result.done) unlink();
        return result;
      } catch (error) {
        unlink();
        throw error;
      }
    },
    async return(value?: unknown) {
      unlink();
      return (await iterator.return?.(value)) ?? { done: true, value: undefined };
    },
  };
}

/**
 * Assembles streamed parts into a complete response, for validation and idempotent replay.
 * Text and reasoning deltas concatenate; tool-call fragments join per index.
 */
export function collectResponse(parts: Iterable<StreamPart>): CanonicalResponse {
  const response: CanonicalResponse = { id: '', model: '', content: [], finishReason: 'other', usage: { inputTokens: 0, outputTokens: 0 } };
  const tools = new Map<number, { type: 'tool-call'; id: string; name: string; arguments: string }>();
  let text: { type: 'text'; text: string } | undefined;
  let reasoning: { type: 'reasoning'; text: string; signature?: string } | undefined;
  for (const part of parts) {
    switch (part.type) {
      case 'start':
        response.id = part.id;
        response.model = part.model;
        break;
      case 'text-delta':
        if (!text) response.content.push((text = { type: 'text', text: '' }));
        text.text += part.text;
        break;
      case 'reasoning-delta':
        if (!reasoning) response.content.push((reasoning = { type: 'reasoning', text: '' }));
        reasoning.text += part.text;
        if (part.signature) reasoning.signature = part.signature;
        break;
      case 'tool-call-start': {
        const call = { type: 'tool-call' as const, id: part.id, name: part.name, arguments: '' };
        tools.set(part.index, call);
        response.content.push(call);
        text = undefined;
        break;
      }
      case 'tool-call-delta': {
        const call = tools.get(part.index);
        if (call) call.arguments += part.argumentsDelta;
        break;
      }
      case 'usage':
        response.usage = part.usage;
        break;
      case 'finish':
        response.finishReason = part.finishReason;
        if (part.rawFinishReason !== undefined) response.rawFinishReason = part.rawFinishReason;
        if (part.usage) response.usage = part.usage;
        break;
      case 'error':
        break;
    }
  }
  return response;
}

/** Replays a complete response as stream parts (idempotent replays of streamed requests). */
export function responseToParts(response: CanonicalResponse): StreamPart[] {
  const parts: StreamPart[] = [{ type: 'start', id: response.id, model: response.model }];
  let toolIndex = 0;
  for (const part of response.content) {
    if (part.type === 'text') parts.push({ type: 'text-delta', text: part.text });
    else if (part.type === 'reasoning') parts.push({ type: 'reasoning-delta', text: part.text, ...(part.signature ? { signature: part.signature } : {}) });
    else {
      parts.push({ type: 'tool-call-start', index: toolIndex, id: part.id, name: part.name });
      parts.push({ type: 'tool-call-delta', index: toolIndex++, argumentsDelta: part.arguments });
    }
  }
  parts.push({ type: 'usage', usage: response.usage });
  parts.push({ type: 'finish', finishReason: response.finishReason, usage: response.usage, ...(response.rawFinishReason ? { rawFinishReason: response.rawFinishReason } : {}) });
  return parts;
}
