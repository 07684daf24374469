import type { Cancellation } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import { BreakwaterError, toBreakwaterError } from '../core/errors.js';
import { executeGenerate, executeStream, type AttemptRecord, type PipelineContext, type Verdict } from '../core/pipeline.js';
import type { CanonicalRequest, CanonicalResponse, Dialect, EmbeddingRequest, EmbeddingResponse, RateLimitInfo, StreamPart, Usage } from '../core/types.js';
import { ZERO_USAGE } from '../core/types.js';
import type { KeyRecord, RequestRecord } from '../store/interfaces.js';
import type { LedgerWriter } from './ledger-writer.js';
import { buildRequestRecord, ledgerStatus, type RequestOutcome } from './request-ledger.js';
import type { PricedCandidate, ResolvedRoute, RouteResolver } from './route-resolver.js';
import { RequestPipelineContext } from './request-pipeline-context.js';
import { relayStream } from './stream-relay.js';
import { createDegenerationGuard } from '../validation/validators.js';
import type { Admission } from '../tenancy/admission.js';
import type { Routing, RoutePlan } from '../routing/routing.js';
import type { RequestObserver } from '../observability/request-observer.js';
import { CallTraffic, markCold, type Warmth, type WarmthClaim } from './warmth.js';

/** Who is asking and how, for one request. */
export interface RequestContext {
  requestId: string;
  key: KeyRecord;
  dialect: Dialect;
  endpoint: string;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
  /** The same cancellation without an AbortSignal, when the server made one (the hot path listens here). */
  cancel?: Cancellation | undefined;
  /** `performance.now()` at receipt, for the overhead figure. */
  receivedAt: number;
  /** Wall-clock ms at receipt, for the ledger. */
  receivedAtMs: number;
  /** Headers to forward upstream (trace context, simulator faults). */
  upstreamHeaders?: Record<string, string> | undefined;
  tags?: Record<string, string> | undefined;
  endUser?: string | undefined;
  /** `x-breakwater-timeout-ms`: may shorten the route's deadline, never lengthen it. */
  timeoutMs?: number | undefined;
  /** `x-breakwater-priority`: the lane, overriding the key's (SPEC MT-4). */
  priority?: string | undefined;
  /**
   * Called once a streamed request passed admission (key, limits, budgets, route), just before
   * its upstream call: an answer whose first event is the gateway's own can commit here (SPEC CS-5).
   */
  onAdmitted?: (() => void) | undefined;
  /** Sees the ledger record as it is queued (a run step keeps its usage and cost). */
  onRecord?: ((record: RequestRecord) => void) | undefined;
  /** Set by the gateway before the upstream call: whether the upstream was cold (SPEC CS-3). */
  warmth?: WarmthClaim | undefined;
  /** The HTTP response, when there is one: a cold request is marked on it for the access log. */
  response?: object | undefined;
}

/**
 * `ctx` for work that outlives its client (a resumable stream's producer, an idempotent or
 * background generation): cancelled only through `signal`, never by the client leaving.
 */
export function detachedContext(ctx: RequestContext, signal: AbortSignal): RequestContext {
  return { ...ctx, signal, cancel: undefined };
}

/** A completed non-streaming request. */
export interface GenerateResult {
  response: CanonicalResponse;
  servedBy: string;
  /** The `x-breakwater-route` header (SPEC API-9, RT-4). */
  route?: string | undefined;
  droppedParams: string[];
  attempts: AttemptRecord[];
  overheadMs: number;
}

/** A stream that has begun; iterate `parts` to relay it. Failures after this are `error` parts. */
export interface StreamSession {
  servedBy: string;
  route?: string | undefined;
  droppedParams: string[];
  attempts: AttemptRecord[];
  overheadMs: number;
  /** The upstream was idle or never used before this stream (SPEC CS-3): the TTFT metric's `cold` label. */
  cold: boolean;
  parts: AsyncIterable<StreamPart>;
  /** Stops the upstream (client gone). The ledger records what was produced so far. */
  abort(reason?: unknown): void;
}

/** Builds the validation of one request's answers from its route (the validation module). */
export type ValidationFactory = (route: ResolvedRoute, request: CanonicalRequest) => AnswerValidation | undefined;

/** Validates a whole answer. `contentOnly` means it only checks that there is content. */
export type AnswerValidation = ((response: CanonicalResponse) => Promise<Verdict>) & { contentOnly?: boolean };

/** What the gateway needs from the rest of the process. */
export interface GatewayDeps {
  resolver: RouteResolver;
  ledger: LedgerWriter;
  clock: Clock;
  validation?: ValidationFactory;
  /** Limits, budgets and lanes (SPEC §2.2 steps 4 and 8); absent means none. */
  admission?: Admission;
  /** Rules, balancing, tiers and the regression guard (SPEC M5); absent means the requested model's route as configured. */
  routing?: Routing;
  /** Metrics and tracing (SPEC OBS-1, OBS-3); told when each request starts and ends. */
  observer?: RequestObserver;
  /** Tags requests cold or warm (SPEC CS-3); absent means every request is warm. */
  warmth?: Warmth;
}

/** A request resolved, ready for the pipeline. */
interface Prepared {
  route: ResolvedRoute;
  candidates: readonly PricedCandidate[];
  plan?: RoutePlan | undefined;
  pipeline: PipelineContext<PricedCandidate>;
}

/**
 * The request path between a decoded client request and the upstream: resolve the model, check
 * the key may use it, run the attempt pipeline under the request deadline, price the usage and
 * queue the ledger record.
 */
export class Gateway {
  /** LLM calls made through this gateway, for the idle warm-up (SPEC CS-2). */
  readonly traffic = new CallTraffic();

  constructor(private readonly deps: GatewayDeps) {}

  /** Resolves the model for this key, or throws 404 / 403 without any upstream call. */
  routeFor(model: string, key: KeyRecord): ResolvedRoute {
    if (key.allowedModels && !key.allowedModels.includes(model)) {
      throw new BreakwaterError('model_not_allowed', `this key may not use model '${model}'`, { param: 'model' });
    }
    return this.deps.resolver.resolve(model);
  }

  /** Serves a non-streaming request. */
  async generate(request: CanonicalRequest, ctx: RequestContext): Promise<GenerateResult> {
    let prepared: Prepared | undefined;
    let upstreamAt: number | undefined;
    this.deps.observer?.begin(ctx, request.model);
    this.traffic.begin();
    try {
      prepared = this.prepare(request, ctx);
      await this.deps.admission?.admit(ctx, prepared.route, request);
      this.claim(ctx, prepared.candidates[0]);
      upstreamAt = performance.now();
      const outcome = await executeGenerate(request, prepared.candidates, prepared.pipeline);
      const overheadMs = performance.now() - ctx.receivedAt - outcome.upstreamMs;
      const { plan } = prepared;
      const route = plan && this.deps.routing!.served(plan, request, ctx, outcome.candidate, outcome.attempts, outcome.response.usage, outcome.response);
      this.record(ctx, { model: request.model, stream: false, candidate: outcome.candidate, attempts: outcome.attempts, status: 200, usage: outcome.response.usage, overheadMs, route }, outcome.response.rateLimit);
      return {
        response: outcome.response,
        servedBy: outcome.candidate.deployment,
        route: plan?.header,
        droppedParams: outcome.candidate.droppedParams(request),
        attempts: outcome.attempts,
        overheadMs,
      };
    } catch (thrown) {
      throw this.failed(ctx, request, prepared?.route, thrown, upstreamAt);
    } finally {
      this.traffic.end();
    }
  }

  /** Opens a stream; resolves once the upstream produced its first content (headers not yet sent). */
  async stream(request: CanonicalRequest, ctx: RequestContext): Promise<StreamSession> {
    const startedAt = performance.now();
    let prepared: Prepared | undefined;
    let upstreamAt: number | undefined;
    let outcome;
    this.deps.observer?.begin(ctx, request.model);
    this.traffic.begin();
    try {
      prepared = this.prepare(request, ctx);
      await this.deps.admission?.admit(ctx, prepared.route, request);
      this.claim(ctx, prepared.candidates[0]);
      ctx.onAdmitted?.();
      upstreamAt = performance.now();
      outcome = await executeStream(request, prepared.candidates, prepared.pipeline);
    } catch (thrown) {
      this.traffic.end();
      throw this.failed(ctx, request, prepared?.route, thrown, upstreamAt);
    }
    const { route, pipeline, plan } = prepared;
    const { candidate, attempts, head, rest } = outcome;
    const overheadMs = startedAt - ctx.receivedAt;
    const ttftMs = performance.now() - ctx.receivedAt;
    const parts = relayStream(head, rest, {
      request,
      signal: pipeline.signal,
      // Once content has streamed, a check for content has nothing left to say: skip keeping
      // every part of the stream just to run it.
      validate: (pipeline.validate as AnswerValidation | undefined)?.contentOnly ? undefined : pipeline.validate,
      guard: route.degeneration ? createDegenerationGuard(route.degeneration) : undefined,
      onEnd: ({ usage, failure }) => {
        this.traffic.end();
        if (failure && failure.details.reason !== 'client_closed') {
          // The attempt counted as a success at its first token; its real end counts too.
          const kind = failure.code === 'semantic_validation_failed' ? 'semantic' : failure.code === 'upstream_timeout' ? 'timeout' : 'error';
          route.policy.report(candidate, { kind: 'failure', failure: kind, error: failure });
        }
        const status = failure ? ledgerStatus(failure) : 200;
        const start = head[0];
        const decision = plan && this.deps.routing!.served(plan, request, ctx, candidate, attempts, usage ?? ZERO_USAGE, undefined);
        this.record(ctx, { model: request.model, stream: true, candidate, attempts, status, usage: usage ?? ZERO_USAGE, errorCode: failure?.code, ttftMs, overheadMs, route: decision }, start?.type === 'start' ? start.rateLimit : undefined);
      },
    });
    const cold = ctx.warmth?.cold === true;
    return { servedBy: candidate.deployment, route: plan?.header, droppedParams: candidate.droppedParams(request), attempts, overheadMs, cold, parts, abort: outcome.abort };
  }

  /** Serves an embeddings request on the first candidate that has embeddings. */
  async embed(request: EmbeddingRequest, ctx: RequestContext): Promise<GenerateResult & { embedding: EmbeddingResponse }> {
    this.deps.observer?.begin(ctx, request.model);
    this.traffic.begin();
    try {
      return await this.embedOnce(request, ctx);
    } finally {
      this.traffic.end();
    }
  }

  private async embedOnce(request: EmbeddingRequest, ctx: RequestContext): Promise<GenerateResult & { embedding: EmbeddingResponse }> {
    const route = this.routeFor(request.model, ctx.key);
    const candidates = route.candidates.filter((c) => c.adapter.embed);
    if (candidates.length === 0) {
      throw new BreakwaterError('invalid_request', `model '${request.model}' does not serve embeddings`, { param: 'model' });
    }
    const candidate = candidates[0]!;
    await this.deps.admission?.admit(ctx, route, request);
    this.claim(ctx, candidate);
    const startedAt = this.deps.clock.now();
    const upstreamStart = performance.now();
    let embedding: EmbeddingResponse;
    try {
      embedding = await candidate.adapter.embed!(request, {
        upstreamModel: candidate.upstreamModel,
        signal: ctx.signal,
        clock: this.deps.clock,
        requestId: ctx.requestId,
        timeouts: candidate.timeouts,
        headers: ctx.upstreamHeaders,
      });
    } catch (thrown) {
      // Releases the admission reservation; the error goes to the client as before.
      this.deps.admission?.settle(ctx, buildRequestRecord(ctx, { model: request.model, stream: false, candidate, attempts: 1, status: 502, usage: ZERO_USAGE }));
      throw thrown;
    }
    const overheadMs = upstreamStart - ctx.receivedAt;
    const attempts: AttemptRecord[] = [{ deployment: candidate.deployment, startedAt, endedAt: this.deps.clock.now(), outcome: 'success' }];
    const usage: Usage = { inputTokens: embedding.usage.inputTokens, outputTokens: 0 };
    this.record(ctx, { model: request.model, stream: false, candidate, attempts, status: 200, usage, overheadMs });
    const response: CanonicalResponse = { id: ctx.requestId, model: embedding.model, content: [], finishReason: 'stop', usage };
    return { response, servedBy: candidate.deployment, droppedParams: [], attempts, overheadMs, embedding };
  }

  private prepare(request: CanonicalRequest, ctx: RequestContext): Prepared {
    let route: ResolvedRoute;
    let candidates: readonly PricedCandidate[];
    let plan: RoutePlan | undefined;
    if (this.deps.routing) {
      if (ctx.key.allowedModels && !ctx.key.allowedModels.includes(request.model)) this.routeFor(request.model, ctx.key);
      plan = this.deps.routing.plan(request, ctx);
      ({ route, candidates } = plan);
    } else {
      route = this.routeFor(request.model, ctx.key);
      candidates = route.candidates;
    }
    const deadlineMs = ctx.timeoutMs === undefined ? route.deadlineMs : Math.min(route.deadlineMs, ctx.timeoutMs);
    // The deadline needs no timer of its own: every attempt's timeouts are clamped to what is left
    // of it, and waits between attempts never outlast it.
    const pipeline = new RequestPipelineContext(ctx, this.deps.clock, {
      deadlineAt: this.deps.clock.now() + deadlineMs,
      policy: route.policy,
      streamUpstream: route.streamUpstream,
      validate: this.deps.validation?.(route, request),
    });
    return { route, candidates, plan, pipeline };
  }

  /**
   * Records a request that got no answer and returns the error to send, with the time spent
   * upstream (from `upstreamAt` on) so the error response can report the gateway's overhead.
   */
  private failed(ctx: RequestContext, request: CanonicalRequest, route: ResolvedRoute | undefined, thrown: unknown, upstreamAt?: number): BreakwaterError {
    let error = toBreakwaterError(thrown);
    const upstreamMs = upstreamAt === undefined ? 0 : performance.now() - upstreamAt;
    if (upstreamMs > 0) error = error.withDetails({ upstreamMs });
    const overheadMs = performance.now() - ctx.receivedAt - upstreamMs;
    const candidate = route?.candidates.find((c) => c.deployment === error.details.deployment);
    this.record(ctx, { model: request.model, stream: request.stream, candidate, attempts: error.details.attempts ?? 0, status: ledgerStatus(error), usage: ZERO_USAGE, errorCode: error.code, overheadMs });
    return error;
  }

  /** Tags the request cold or warm by the provider it tries first. */
  private claim(ctx: RequestContext, first: PricedCandidate | undefined): void {
    if (this.deps.warmth && first) ctx.warmth = this.deps.warmth.claim(first.provider);
  }

  private record(ctx: RequestContext, outcome: RequestOutcome, rateLimit?: RateLimitInfo): void {
    if (ctx.warmth?.cold) {
      outcome.initMs = this.deps.warmth!.initMsOf(ctx.warmth);
      if (ctx.response) markCold(ctx.response, outcome.initMs);
    }
    const record = buildRequestRecord(ctx, outcome);
    this.deps.admission?.settle(ctx, record, rateLimit);
    ctx.onRecord?.(record);
    this.deps.ledger.record(record);
    this.deps.observer?.end(ctx, record, outcome.attempts);
  }
}
