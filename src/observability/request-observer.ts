import type { AttemptRecord } from '../core/attempt-loop.js';
import type { RequestRecord } from '../store/interfaces.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { RequestTracer, TracedRequest } from './request-tracing.js';

/** What the gateway tells observability about each request (SPEC OBS-1, OBS-3). */
export interface RequestObserver {
  /** The request is about to be routed; tracing opens its span here. */
  begin(ctx: TracedRequest, model: string): void;
  /** The request's ledger record is final (after admission settled it). */
  end(ctx: TracedRequest, record: RequestRecord, attempts: readonly AttemptRecord[] | number): void;
}

const NOTHING = () => {};

/** Metrics always; spans only when a tracer is configured, with no per-request cost otherwise. */
export function createRequestObserver(metrics: GatewayMetrics, tracer?: RequestTracer): RequestObserver {
  if (!tracer) return { begin: NOTHING, end: (_ctx, record, attempts) => metrics.onRequest(record, attempts) };
  return {
    begin: (ctx, model) => tracer.begin(ctx, model),
    end(ctx, record, attempts) {
      metrics.onRequest(record, attempts);
      tracer.end(ctx, record, attempts);
    },
  };
}
