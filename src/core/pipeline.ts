import type { Clock } from './clock.js';
import { BreakwaterError, toBreakwaterError } from './errors.js';
import type { AttemptTimeouts, CallContext, ProviderAdapter } from './provider.js';
import type { CanonicalRequest, CanonicalResponse, StreamPart, Usage } from './types.js';

/** One deployment the request may be served by, resolved and ready to call. */
export interface Candidate {
  /** `provider/model`, as reported in `x-breakwater-served-by`. */
  deployment: string;
  provider: string;
  upstreamModel: string;
  adapter: ProviderAdapter;
  timeouts: AttemptTimeouts;
}

/** What happened in one attempt, for headers, the ledger and the admin API. */
export interface AttemptRecord {
  deployment: string;
  startedAt: number;
  endedAt: number;
  outcome: 'success' | 'error';
  errorCode?: string | undefined;
  reason?: string | undefined;
  upstreamStatus?: number | undefined;
}

/** The per-request inputs of the pipeline. */
export interface PipelineContext {
  requestId: string;
  clock: Clock;
  /** The client's signal: aborted when the client goes away. */
  signal: AbortSignal;
  /** Extra upstream headers (trace context, simulator faults). */
  headers?: Record<string, string>;
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

function linkedController(parent: AbortSignal): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { controller, unlink: () => {} };
  }
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => parent.removeEventListener('abort', onAbort) };
}

function recordFailure(candidate: Candidate, startedAt: number, clock: Clock, error: BreakwaterError): AttemptRecord {
  return {
    deployment: candidate.deployment,
    startedAt,
    endedAt: clock.now(),
    outcome: 'error',
    errorCode: error.code,
    reason: error.details.reason,
    upstreamStatus: error.details.upstreamStatus,
  };
}

/** True when the next candidate may serve what this error failed (before any byte reached the client). */
function movesOn(error: BreakwaterError): boolean {
  return error.retryable || error.code === 'context_length_exceeded';
}

function finalError(error: BreakwaterError, candidate: Candidate, attempts: AttemptRecord[]): BreakwaterError {
  return error.withDetails({ provider: candidate.provider, deployment: candidate.deployment, attempts: attempts.length });
}

/**
 * Calls candidates in order until one answers. Retryable failures move to the next candidate;
 * anything else is returned at once. The resilience issue layers retries, budgets, breakers and
 * validators onto this loop.
 */
export async function executeGenerate<C extends Candidate>(
  request: CanonicalRequest,
  candidates: readonly C[],
  ctx: PipelineContext,
): Promise<GenerateOutcome<C>> {
  if (candidates.length === 0) throw new BreakwaterError('upstream_unavailable', 'no deployment can serve this model');
  const attempts: AttemptRecord[] = [];
  let upstreamMs = 0;
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    const startedAt = ctx.clock.now();
    const { controller, unlink } = linkedController(ctx.signal);
    try {
      const response = await candidate.adapter.generate(request, callContext(candidate, ctx, controller.signal));
      attempts.push({ deployment: candidate.deployment, startedAt, endedAt: ctx.clock.now(), outcome: 'success' });
      upstreamMs += ctx.clock.now() - startedAt;
      return { response, candidate, attempts, upstreamMs };
    } catch (thrown) {
      upstreamMs += ctx.clock.now() - startedAt;
      const error = ctx.signal.aborted ? clientGone(ctx.signal) : toBreakwaterError(thrown);
      attempts.push(recordFailure(candidate, startedAt, ctx.clock, error));
      if (ctx.signal.aborted || !movesOn(error) || i === candidates.length - 1) throw finalError(error, candidate, attempts);
    } finally {
      unlink();
    }
  }
  throw new BreakwaterError('upstream_unavailable', 'no deployment answered');
}

/**
 * Opens a stream on the first candidate that produces content (`start` and early `usage` parts
 * are metadata, not content). Until then failures move on to
 * the next candidate, invisibly to the client; the caller commits response headers only after
 * this resolves, so a request that fails early keeps its real HTTP status.
 */
export async function executeStream<C extends Candidate>(
  request: CanonicalRequest,
  candidates: readonly C[],
  ctx: PipelineContext,
): Promise<StreamOutcome<C>> {
  if (candidates.length === 0) throw new BreakwaterError('upstream_unavailable', 'no deployment can serve this model');
  const attempts: AttemptRecord[] = [];
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i]!;
    const startedAt = ctx.clock.now();
    const { controller, unlink } = linkedController(ctx.signal);
    let iterator: AsyncIterator<StreamPart> | undefined;
    try {
      iterator = candidate.adapter.stream(request, callContext(candidate, ctx, controller.signal))[Symbol.asyncIterator]();
      const head: StreamPart[] = [];
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        head.push(next.value);
        if (next.value.type !== 'start' && next.value.type !== 'usage') break;
      }
      attempts.push({ deployment: candidate.deployment, startedAt, endedAt: ctx.clock.now(), outcome: 'success' });
      const rest = unlinkWhenDone(iterator, unlink);
      return { candidate, attempts, head, rest, abort: (reason) => controller.abort(reason) };
    } catch (thrown) {
      unlink();
      controller.abort();
      void iterator?.return?.();
      const error = ctx.signal.aborted ? clientGone(ctx.signal) : toBreakwaterError(thrown);
      attempts.push(recordFailure(candidate, startedAt, ctx.clock, error));
      if (ctx.signal.aborted || !movesOn(error) || i === candidates.length - 1) throw finalError(error, candidate, attempts);
    }
  }
  throw new BreakwaterError('upstream_unavailable', 'no deployment answered');
}

function callContext(candidate: Candidate, ctx: PipelineContext, signal: AbortSignal): CallContext {
  return {
    upstreamModel: candidate.upstreamModel,
    signal,
    clock: ctx.clock,
    requestId: ctx.requestId,
    timeouts: candidate.timeouts,
    headers: ctx.headers,
  };
}

function clientGone(signal: AbortSignal): BreakwaterError {
  const reason = signal.reason;
  if (reason instanceof BreakwaterError) return reason;
  return new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false });
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

/** Reads usage from a finished list of parts: the last `usage` part or the `finish` part's usage. */
export function lastUsage(parts: Iterable<StreamPart>): Usage | undefined {
  let usage: Usage | undefined;
  for (const part of parts) {
    if (part.type === 'usage') usage = part.usage;
    else if (part.type === 'finish' && part.usage) usage = part.usage;
  }
  return usage;
}
