import type { Clock } from '../core/clock.js';
import { BreakwaterError, toBreakwaterError } from '../core/errors.js';
import {
  executeGenerate,
  executeStream,
  type AttemptRecord,
  type Candidate,
  type PipelineContext,
} from '../core/pipeline.js';
import type {
  CanonicalRequest,
  CanonicalResponse,
  Dialect,
  EmbeddingRequest,
  EmbeddingResponse,
  StreamPart,
  Usage,
} from '../core/types.js';
import { ZERO_USAGE } from '../core/types.js';
import { estimatedUsage, outputCharacters } from '../core/usage-estimate.js';
import type { KeyRecord, RequestRecord } from '../store/interfaces.js';
import type { CandidateResolver, PricedCandidate } from './candidate-resolver.js';
import type { LedgerWriter } from './ledger-writer.js';

/** Who is asking and how, for one request. */
export interface RequestContext {
  requestId: string;
  key: KeyRecord;
  dialect: Dialect;
  endpoint: string;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
  /** `performance.now()` at receipt, for the overhead figure. */
  receivedAt: number;
  /** Wall-clock ms at receipt, for the ledger. */
  receivedAtMs: number;
  /** Headers to forward upstream (trace context, simulator faults). */
  upstreamHeaders?: Record<string, string>;
  tags?: Record<string, string>;
  endUser?: string;
}

/** A completed non-streaming request. */
export interface GenerateResult {
  response: CanonicalResponse;
  servedBy: string;
  droppedParams: string[];
  attempts: AttemptRecord[];
  overheadMs: number;
}

/** A stream that has begun; iterate `parts` to relay it. Failures after this are `error` parts. */
export interface StreamSession {
  servedBy: string;
  droppedParams: string[];
  attempts: AttemptRecord[];
  overheadMs: number;
  parts: AsyncIterable<StreamPart>;
  /** Stops the upstream (client gone). The ledger records what was produced so far. */
  abort(reason?: unknown): void;
}

/** What the gateway needs from the rest of the process. */
export interface GatewayDeps {
  resolver: CandidateResolver;
  ledger: LedgerWriter;
  clock: Clock;
}

/**
 * The request path between a decoded client request and the upstream: resolve the model, check
 * the key may use it, run the attempt pipeline, price the usage and queue the ledger record.
 */
export class Gateway {
  constructor(private readonly deps: GatewayDeps) {}

  /** Resolves the model for this key, or throws 404 / 403 without any upstream call. */
  candidatesFor(model: string, key: KeyRecord): readonly PricedCandidate[] {
    if (key.allowedModels && !key.allowedModels.includes(model)) {
      throw new BreakwaterError('model_not_allowed', `this key may not use model '${model}'`, { param: 'model' });
    }
    return this.deps.resolver.resolve(model);
  }

  /** Serves a non-streaming request. */
  async generate(request: CanonicalRequest, ctx: RequestContext): Promise<GenerateResult> {
    let candidates: readonly PricedCandidate[] = [];
    try {
      candidates = this.candidatesFor(request.model, ctx.key);
      const outcome = await executeGenerate(request, candidates, this.pipelineContext(ctx));
      const overheadMs = performance.now() - ctx.receivedAt - outcome.upstreamMs;
      this.record(ctx, request, outcome.candidate, outcome.attempts, 200, outcome.response.usage, undefined, { overheadMs });
      return {
        response: outcome.response,
        servedBy: outcome.candidate.deployment,
        droppedParams: outcome.candidate.droppedParams(request),
        attempts: outcome.attempts,
        overheadMs,
      };
    } catch (thrown) {
      const error = toBreakwaterError(thrown);
      this.recordFailure(ctx, request, candidates, error);
      throw error;
    }
  }

  /** Opens a stream; resolves once the upstream produced its first content (headers not yet sent). */
  async stream(request: CanonicalRequest, ctx: RequestContext): Promise<StreamSession> {
    let candidates: readonly PricedCandidate[] = [];
    const startedAt = performance.now();
    let outcome;
    try {
      candidates = this.candidatesFor(request.model, ctx.key);
      outcome = await executeStream(request, candidates, this.pipelineContext(ctx));
    } catch (thrown) {
      const error = toBreakwaterError(thrown);
      this.recordFailure(ctx, request, candidates, error);
      throw error;
    }
    const overheadMs = startedAt - ctx.receivedAt;
    const firstPartAt = performance.now();
    const { candidate, attempts, head, rest } = outcome;
    const parts = this.relay(request, ctx, candidate, attempts, head, rest, firstPartAt, overheadMs);
    return { servedBy: candidate.deployment, droppedParams: candidate.droppedParams(request), attempts, overheadMs, parts, abort: outcome.abort };
  }

  /** Serves an embeddings request on the first candidate that has embeddings. */
  async embed(request: EmbeddingRequest, ctx: RequestContext): Promise<GenerateResult & { embedding: EmbeddingResponse }> {
    const candidates = this.candidatesFor(request.model, ctx.key).filter((c) => c.adapter.embed);
    if (candidates.length === 0) {
      throw new BreakwaterError('invalid_request', `model '${request.model}' does not serve embeddings`, { param: 'model' });
    }
    const candidate = candidates[0]!;
    const startedAt = this.deps.clock.now();
    const upstreamStart = performance.now();
    const embedding = await candidate.adapter.embed!(request, {
      upstreamModel: candidate.upstreamModel,
      signal: ctx.signal,
      clock: this.deps.clock,
      requestId: ctx.requestId,
      timeouts: candidate.timeouts,
      headers: ctx.upstreamHeaders,
    });
    const overheadMs = performance.now() - ctx.receivedAt - (performance.now() - upstreamStart);
    const attempts: AttemptRecord[] = [{ deployment: candidate.deployment, startedAt, endedAt: this.deps.clock.now(), outcome: 'success' }];
    const usage: Usage = { inputTokens: embedding.usage.inputTokens, outputTokens: 0 };
    this.record(ctx, { model: request.model, stream: false }, candidate, attempts, 200, usage, undefined, { overheadMs });
    const response: CanonicalResponse = { id: ctx.requestId, model: embedding.model, content: [], finishReason: 'stop', usage };
    return { response, servedBy: candidate.deployment, droppedParams: [], attempts, overheadMs, embedding };
  }

  private pipelineContext(ctx: RequestContext): PipelineContext {
    return { requestId: ctx.requestId, clock: this.deps.clock, signal: ctx.signal, headers: ctx.upstreamHeaders };
  }

  /** Passes parts through, turning a mid-stream failure into an `error` part, and records the outcome. */
  private async *relay(
    request: CanonicalRequest,
    ctx: RequestContext,
    candidate: PricedCandidate,
    attempts: AttemptRecord[],
    head: StreamPart[],
    rest: AsyncIterator<StreamPart>,
    firstPartAt: number,
    overheadMs: number,
  ): AsyncGenerator<StreamPart> {
    let usage: Usage | undefined;
    let outputChars = 0;
    let ended = false;
    let failure: BreakwaterError | undefined;
    const ttftMs = firstPartAt - ctx.receivedAt;
    const observe = (part: StreamPart) => {
      if (part.type === 'usage') usage = part.usage;
      else if (part.type === 'finish') {
        ended = true;
        if (part.usage) usage = part.usage;
      } else outputChars += outputCharacters(part);
    };
    try {
      for (const part of head) {
        observe(part);
        yield part;
      }
      while (!ended) {
        const next = await rest.next();
        if (next.done) break;
        observe(next.value);
        yield next.value;
      }
      if (ended) drainInBackground(rest);
      else failure = new BreakwaterError('upstream_error', 'the upstream stream ended without finishing', { reason: 'stream_truncated' });
    } catch (thrown) {
      failure = ctx.signal.aborted
        ? new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false })
        : toBreakwaterError(thrown);
    } finally {
      if (!ended && !failure) {
        // The consumer stopped early (client gone): stop the upstream too.
        failure = new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false });
        void rest.return?.();
      }
      const status = failure ? statusOf(failure) : 200;
      if (failure) usage = partialUsage(request, usage, outputChars);
      this.record(ctx, request, candidate, attempts, status, usage ?? ZERO_USAGE, failure?.code, { ttftMs, overheadMs });
    }
    if (failure && failure.details.reason !== 'client_closed') {
      const error = failure.withDetails({ provider: candidate.provider, deployment: candidate.deployment, attempts: attempts.length });
      yield usage ? { type: 'error', error, usage } : { type: 'error', error };
    }
  }

  private recordFailure(ctx: RequestContext, request: CanonicalRequest, candidates: readonly PricedCandidate[], error: BreakwaterError): void {
    const deployment = error.details.deployment;
    const candidate = candidates.find((c) => c.deployment === deployment);
    const attempts = error.details.attempts ?? 0;
    this.record(ctx, request, candidate, attempts, statusOf(error), ZERO_USAGE, error.code, {});
  }

  private record(
    ctx: RequestContext,
    request: Pick<CanonicalRequest, 'model' | 'stream'>,
    candidate: PricedCandidate | undefined,
    attempts: AttemptRecord[] | number,
    status: number,
    usage: Usage,
    errorCode: string | undefined,
    timings: { ttftMs?: number; overheadMs?: number },
  ): void {
    const cost = candidate ? candidate.price(usage) : { costMicros: 0, priceMissing: false };
    const record: RequestRecord = {
      id: ctx.requestId,
      createdAt: ctx.receivedAtMs,
      keyId: ctx.key.id,
      dialect: ctx.dialect,
      endpoint: ctx.endpoint,
      requestedModel: request.model,
      servedBy: candidate?.deployment,
      provider: candidate?.provider,
      status,
      errorCode,
      stream: request.stream,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cacheReadTokens: usage.cacheReadTokens ?? 0,
      cacheWriteTokens: usage.cacheWriteTokens ?? 0,
      reasoningTokens: usage.reasoningTokens ?? 0,
      usageEstimated: Boolean(usage.estimated),
      costMicros: cost.costMicros,
      priceMissing: cost.priceMissing,
      attempts: typeof attempts === 'number' ? attempts : attempts.length,
      latencyMs: Math.round((performance.now() - ctx.receivedAt) * 1000) / 1000,
      ttftMs: timings.ttftMs === undefined ? undefined : Math.round(timings.ttftMs * 1000) / 1000,
      overheadMs: timings.overheadMs === undefined ? undefined : Math.round(timings.overheadMs * 1000) / 1000,
      tags: ctx.tags,
      endUser: ctx.endUser,
    };
    this.deps.ledger.record(record);
  }
}

/** The ledger status of a failure: 499 (nginx's "client closed request") when the client left. */
function statusOf(error: BreakwaterError): number {
  return error.details.reason === 'client_closed' ? 499 : error.status;
}

/**
 * Usage of a stream that ended early: upstreams report usage last, so what was produced is
 * counted from the text that went out (flagged estimated) unless the upstream already said more.
 */
function partialUsage(request: CanonicalRequest, reported: Usage | undefined, outputChars: number): Usage {
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

/** Re-exported for callers that build candidates. */
export type { Candidate };
