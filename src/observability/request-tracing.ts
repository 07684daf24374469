import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { AttemptRecord } from '../core/attempt-loop.js';
import type { RequestRecord } from '../store/interfaces.js';
import { routePath, splitDeployment } from './gateway-metrics.js';

/** The request facts tracing reads (a subset of the gateway's request context). */
export interface TracedRequest {
  requestId: string;
  endpoint: string;
  receivedAtMs: number;
  upstreamHeaders?: Record<string, string> | undefined;
}

/** Spans for requests and attempts; present only when tracing is configured (SPEC OBS-3). */
export interface RequestTracer {
  /** Opens the request's span and points the upstream `traceparent` at it. */
  begin(ctx: TracedRequest, model: string): void;
  /** Closes the request's span with the ledger facts, with one child span per attempt. */
  end(ctx: TracedRequest, record: RequestRecord, attempts: readonly AttemptRecord[] | number): void;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** Where spans go: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`. */
export function tracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Starts OpenTelemetry tracing when an OTLP endpoint is configured; otherwise returns undefined
 * without importing the SDK, so tracing that is off costs nothing (no module load, no span).
 * The SDK exports OTLP/HTTP JSON in batches; the provider is not registered globally, so a host
 * application's own tracing is left alone.
 */
export async function createRequestTracing(env: NodeJS.ProcessEnv, serviceName = 'breakwater'): Promise<RequestTracer | undefined> {
  const url = tracesEndpoint(env);
  if (!url) return undefined;
  const [api, sdk, exporter, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const scheduledDelayMillis = Number(env.OTEL_BSP_SCHEDULE_DELAY) || 1000;
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || serviceName }),
    spanProcessors: [new sdk.BatchSpanProcessor(new exporter.OTLPTraceExporter({ url }), { scheduledDelayMillis })],
  });
  return new OtelRequestTracer(api, provider.getTracer('breakwater'), () => provider.shutdown());
}

type OtelApi = typeof import('@opentelemetry/api');

/** Request and attempt spans following the OpenTelemetry GenAI semantic conventions. */
class OtelRequestTracer implements RequestTracer {
  private readonly spans = new WeakMap<TracedRequest, Span>();

  constructor(
    private readonly api: OtelApi,
    private readonly tracer: Tracer,
    readonly shutdown: () => Promise<void>,
  ) {}

  begin(ctx: TracedRequest, model: string): void {
    const { api } = this;
    const operation = operationOf(ctx.endpoint);
    const parent = this.parentContext(ctx.upstreamHeaders?.traceparent);
    const span = this.tracer.startSpan(
      `${operation} ${model}`,
      {
        kind: api.SpanKind.SERVER,
        startTime: ctx.receivedAtMs,
        attributes: { 'gen_ai.operation.name': operation, 'gen_ai.request.model': model, 'http.route': routePath(ctx.endpoint), 'breakwater.request_id': ctx.requestId },
      },
      parent,
    );
    this.spans.set(ctx, span);
    // Upstreams see the gateway's span as their parent (W3C trace context), not the client's.
    const context = span.spanContext();
    if (ctx.upstreamHeaders) ctx.upstreamHeaders.traceparent = `00-${context.traceId}-${context.spanId}-0${context.traceFlags & 1}`;
  }

  end(ctx: TracedRequest, record: RequestRecord, attempts: readonly AttemptRecord[] | number): void {
    const span = this.spans.get(ctx);
    if (!span) return;
    this.spans.delete(ctx);
    const operation = operationOf(ctx.endpoint);
    const attributes: Attributes = {
      'gen_ai.usage.input_tokens': record.inputTokens,
      'gen_ai.usage.output_tokens': record.outputTokens,
      'http.response.status_code': record.status,
      'breakwater.attempts': record.attempts,
      'breakwater.cost_usd': record.costMicros / 1e6,
      'breakwater.stream': record.stream,
    };
    if (record.provider !== undefined) attributes['gen_ai.system'] = attributes['gen_ai.provider.name'] = record.provider;
    if (record.servedBy !== undefined) attributes['breakwater.served_by'] = record.servedBy;
    if (record.overheadMs !== undefined) attributes['breakwater.overhead_ms'] = record.overheadMs;
    if (record.ttftMs !== undefined) attributes['breakwater.ttft_ms'] = record.ttftMs;
    if (record.lane !== undefined) attributes['breakwater.lane'] = record.lane;
    if (record.teamId !== undefined) attributes['breakwater.team_id'] = record.teamId;
    if (record.errorCode !== undefined) attributes['error.type'] = record.errorCode;
    span.setAttributes(attributes);
    if (record.status !== 200) span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: record.errorCode });
    if (typeof attempts !== 'number') this.attemptSpans(span, operation, attempts);
    span.end(record.createdAt + record.latencyMs);
  }

  /** One CLIENT span per attempt, from the attempt records (their times are clock ms). */
  private attemptSpans(parent: Span, operation: string, attempts: readonly AttemptRecord[]): void {
    const context = this.api.trace.setSpan(this.api.ROOT_CONTEXT, parent);
    attempts.forEach((attempt, index) => {
      const [provider, model] = splitDeployment(attempt.deployment);
      const attributes: Attributes = {
        'gen_ai.operation.name': operation,
        'gen_ai.system': provider,
        'gen_ai.provider.name': provider,
        'gen_ai.request.model': model,
        'breakwater.attempt': index + 1,
        'breakwater.attempt.outcome': attempt.outcome,
      };
      if (attempt.errorCode !== undefined) attributes['error.type'] = attempt.errorCode;
      if (attempt.reason !== undefined) attributes['breakwater.attempt.reason'] = attempt.reason;
      if (attempt.upstreamStatus !== undefined) attributes['http.response.status_code'] = attempt.upstreamStatus;
      if (attempt.reasons?.length) attributes['breakwater.validation.reasons'] = attempt.reasons.slice(0, 10);
      if (attempt.hedged) attributes['breakwater.attempt.hedged'] = true;
      const span = this.tracer.startSpan(`${operation} ${model}`, { kind: this.api.SpanKind.CLIENT, startTime: attempt.startedAt, attributes }, context);
      if (attempt.outcome === 'error' || attempt.outcome === 'semantic_failure') span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: attempt.errorCode ?? attempt.outcome });
      span.end(attempt.endedAt);
    });
  }

  private parentContext(traceparent: string | undefined) {
    const { api } = this;
    const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
    if (!match) return api.ROOT_CONTEXT;
    return api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true });
  }
}

/** The GenAI operation name of an endpoint. */
function operationOf(endpoint: string): string {
  return endpoint.startsWith('/v1/embeddings') ? 'embeddings' : 'chat';
}
