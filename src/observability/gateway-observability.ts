import { systemClock } from '../core/clock.js';
import type { ResilienceHooks } from '../gateway/resilience-policy.js';
import type { Lane } from '../store/interfaces.js';
import { registerGatewayGauges, type GaugeSources } from './gateway-gauges.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { MetricsRegistry } from './metrics-registry.js';
import { createRequestObserver, type RequestObserver } from './request-observer.js';
import { createRequestTracing, type RequestTracer } from './request-tracing.js';
import { StreamMetrics } from './stream-metrics.js';

/** The headline numbers of one process, as `GET /admin/stats`, the dashboard and `breakwater top` show them. */
export interface HeadlineStats {
  /** Wall-clock ms when taken; rates are differences between two of these. */
  at: number;
  uptimeS: number;
  requests: { total: number; success: number; errors: number; cancelled: number };
  attempts: { total: number; semanticFailures: number; retries: number; fallbacks: number };
  errorsByCode: Record<string, number>;
  tokens: { input: number; output: number };
  costUsd: number;
  inFlight: number;
  streams: { active: number; resumable: number };
  ledgerBacklog: number;
  breakers: { deployment: string; state: string; trip: string | null }[];
  lanes: Record<Lane, { requests: number; rejections: number; queued: number; capacity: number }>;
  deployments: { deployment: string; requests: number; errors: number; attempts: number; semanticFailures: number; costUsd: number }[];
  /** Runs by state; null when this process runs no durable runs. */
  runs: Record<string, number> | null;
}

/** What the stats read beyond the metrics: the live gauges, plus lane capacity. */
export interface StatsSources extends GaugeSources {
  laneCapacity(): Record<Lane, number>;
}

/** Metrics, tracing and the request observer of one gateway. */
export class GatewayObservability {
  /** `GET /metrics`; one per gateway so several gateways in one process never share series. */
  readonly registry = new MetricsRegistry();
  /** Stream TTFT, gap and duration, on real time like the receipt time the server stamps. */
  readonly streams = new StreamMetrics({ clock: systemClock, registry: this.registry });
  readonly gateway = new GatewayMetrics(this.registry);
  readonly observer: RequestObserver;
  readonly resilienceHooks: ResilienceHooks;
  private readonly startedAt = Date.now();
  private sources: StatsSources | undefined;

  private constructor(readonly tracer: RequestTracer | undefined) {
    this.observer = createRequestObserver(this.gateway, tracer);
    this.resilienceHooks = {
      onAttempt: (deployment, outcome) => this.gateway.onAttempt(deployment, outcome),
      onBreakerChange: (deployment, _from, to) => this.gateway.onBreakerChange(deployment, to),
    };
  }

  /** Builds it; tracing (and the OpenTelemetry SDK) only when an OTLP endpoint is set in `env`. */
  static async create(env: NodeJS.ProcessEnv): Promise<GatewayObservability> {
    return new GatewayObservability(await createRequestTracing(env));
  }

  /** Connects the gauges to the live process once its parts exist. */
  watch(sources: StatsSources): void {
    this.sources = sources;
    registerGatewayGauges(this.registry, sources);
  }

  /** The headline numbers now. */
  async stats(): Promise<HeadlineStats> {
    const m = this.gateway;
    const sources = this.sources;
    const requests = { total: m.requests.sum(), success: m.requests.sum({ outcome: 'success' }), errors: m.requests.sum({ outcome: 'error' }), cancelled: m.requests.sum({ outcome: 'cancelled' }) };
    const errorsByCode: Record<string, number> = {};
    for (const { labels, value } of m.errors.entries()) errorsByCode[labels.code!] = (errorsByCode[labels.code!] ?? 0) + value;
    const queued = sources?.laneQueued() ?? { interactive: 0, batch: 0 };
    const capacity = sources?.laneCapacity() ?? { interactive: 0, batch: 0 };
    const lane = (name: Lane) => ({ requests: m.laneRequests.sum({ lane: name }), rejections: m.rejections.sum({ lane: name }), queued: queued[name], capacity: capacity[name] });
    let active = 0;
    for (const count of this.streams.active.values()) active += count;
    return {
      at: Date.now(),
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      requests,
      attempts: { total: m.attempts.sum(), semanticFailures: m.attempts.sum({ outcome: 'semantic_failure' }), retries: m.retries.sum(), fallbacks: m.fallbacks.sum() },
      errorsByCode,
      tokens: { input: m.tokens.sum({ kind: 'input' }), output: m.tokens.sum({ kind: 'output' }) },
      costUsd: m.cost.sum(),
      inFlight: sources?.inFlight() ?? 0,
      streams: { active, resumable: sources?.resumableStreams() ?? 0 },
      ledgerBacklog: sources?.ledgerBacklog() ?? 0,
      breakers: Object.entries(sources?.breakers() ?? {}).map(([deployment, snapshot]) => ({ deployment, state: snapshot.state, trip: snapshot.trip ?? null })),
      lanes: { interactive: lane('interactive'), batch: lane('batch') },
      deployments: this.deploymentRows(),
      runs: sources?.runs ? await sources.runs.countByState().catch(() => null) : null,
    };
  }

  private deploymentRows(): HeadlineStats['deployments'] {
    const rows = new Map<string, HeadlineStats['deployments'][number]>();
    const row = (provider: string, model: string) => {
      const deployment = `${provider}/${model}`;
      let found = rows.get(deployment);
      if (!found) rows.set(deployment, (found = { deployment, requests: 0, errors: 0, attempts: 0, semanticFailures: 0, costUsd: 0 }));
      return found;
    };
    const m = this.gateway;
    for (const { labels, value } of m.requests.entries()) {
      if (labels.provider === 'none') continue;
      const r = row(labels.provider!, labels.model!);
      r.requests += value;
      if (labels.outcome === 'error') r.errors += value;
    }
    for (const { labels, value } of m.attempts.entries()) {
      const r = row(labels.provider!, labels.model!);
      r.attempts += value;
      if (labels.outcome === 'semantic_failure') r.semanticFailures += value;
    }
    for (const { labels, value } of m.cost.entries()) if (labels.provider !== 'none') row(labels.provider!, labels.model!).costUsd += value;
    return [...rows.values()].sort((a, b) => b.requests - a.requests);
  }

  /** Exports buffered spans. */
  async close(): Promise<void> {
    await this.tracer?.shutdown();
  }
}
