import type { Clock } from '../core/clock.js';
import { BucketHistogram, type HistogramSeries } from './bucket-histogram.js';
import { LabelGuard } from './counter-family.js';
import { GapSketch } from './gap-sketch.js';
import { processMetrics, type MetricsRegistry } from './metrics-registry.js';

/** How a stream ended, as the duration histogram's `outcome` label. */
export type StreamOutcome = 'completed' | 'failed' | 'disconnected' | 'cancelled';

/** What one stream measured, for the request ledger (SPEC SA-1). */
export interface StreamSummary {
  /** Receipt to first content written, ms; undefined when no content was written. */
  ttftMs: number | undefined;
  /** Content writes, the first included. */
  contentEvents: number;
  meanGapMs: number | undefined;
  /** Within 5% (see {@link GapSketch}). */
  p95GapMs: number | undefined;
  largestGapMs: number | undefined;
  durationMs: number;
  outcome: StreamOutcome;
}

/** Label values beyond these many distinct ones are reported as `other`, so a misuse cannot grow /metrics without bound. */
const MAX_ROUTES = 32;
const MAX_DEPLOYMENTS = 256;
const UNKNOWN_DEPLOYMENT = 'none';

const TTFT_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const GAP_BOUNDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const DURATION_BOUNDS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/** Options of {@link StreamMetrics}. */
export interface StreamMetricsOptions {
  clock: Clock;
  /** Where the metrics are exposed; the process registry by default. */
  registry?: MetricsRegistry;
}

/**
 * Stream metrics of the process (SPEC SA-1, issue 4 item 7): time to first token, inter-token
 * gaps and durations per route and deployment, and the streams open now. `route` is the endpoint
 * path and `deployment` the configured `provider/model`, never a key or request id.
 */
export class StreamMetrics {
  /** Time to first token. */
  readonly ttft = new BucketHistogram('breakwater_stream_ttft_seconds', 'Request receipt to first content byte written, per stream', ['route', 'deployment', 'cold'], TTFT_BOUNDS);
  /** Inter-token gaps. */
  readonly gap = new BucketHistogram('breakwater_stream_gap_seconds', 'Time between consecutive content writes of a stream', ['route', 'deployment'], GAP_BOUNDS);
  /** Stream durations by outcome. */
  readonly duration = new BucketHistogram('breakwater_stream_duration_seconds', 'Request receipt to stream end', ['route', 'deployment', 'outcome'], DURATION_BOUNDS);
  /** Open streams per route. */
  readonly active = new Map<string, number>();
  /** Bounds the `route` label. */
  readonly routes = new LabelGuard(MAX_ROUTES);
  /** Bounds the `deployment` label. */
  readonly deployments = new LabelGuard(MAX_DEPLOYMENTS);
  private readonly warm = new Set<string>();
  /** The clock every observer reads. */
  readonly clock: Clock;

  constructor(options: StreamMetricsOptions) {
    this.clock = options.clock;
    (options.registry ?? processMetrics).addSource((prom, registry) => {
      this.ttft.register(prom, registry);
      this.gap.register(prom, registry);
      this.duration.register(prom, registry);
      const active = this.active;
      new prom.Gauge({
        name: 'breakwater_streams_active',
        help: 'Streams open now',
        labelNames: ['route'],
        registers: [registry],
        collect() {
          for (const [route, count] of active) this.set({ route }, count);
        },
      });
    });
  }

  /**
   * Starts observing one stream. `receivedAt` is when the request arrived, on this metrics'
   * clock (with `systemClock`, the handler's `receivedAtMs`).
   */
  start(route: string, receivedAt: number): StreamObserver {
    return new StreamObserver(this, this.routes.admit(route), receivedAt);
  }

  /**
   * True the first time a deployment is seen by this process, for the `cold` label: the first
   * stream pays for connection set-up (and on some providers a model load) that later ones do not.
   */
  firstUse(deployment: string): boolean {
    if (this.warm.has(deployment)) return false;
    this.warm.add(deployment);
    return true;
  }
}

/**
 * One stream's measurements. Call {@link setDeployment} when the upstream is chosen, {@link content}
 * after each content write reaches the socket (the first call is the first token), and {@link end}
 * once. Per token it costs a clock read, two bucket scans and no allocation.
 */
export class StreamObserver {
  private deployment = UNKNOWN_DEPLOYMENT;
  private cold = false;
  private gapSeries: HistogramSeries | undefined;
  private firstAt: number | undefined;
  private lastAt = 0;
  private events = 0;
  private readonly gaps = new GapSketch();
  private ended: StreamSummary | undefined;

  constructor(
    private readonly metrics: StreamMetrics,
    private readonly route: string,
    private readonly receivedAt: number,
  ) {
    metrics.active.set(route, (metrics.active.get(route) ?? 0) + 1);
  }

  /**
   * Names the deployment serving the stream (`provider/model`). `cold` is the gateway's tag
   * (SPEC CS-3); without one, the deployment's first use in this process counts as cold.
   */
  setDeployment(deployment: string, cold: boolean = this.metrics.firstUse(deployment)): void {
    this.deployment = this.metrics.deployments.admit(deployment);
    this.cold = cold;
    this.gapSeries = undefined;
  }

  /** The first content byte was written: records time to first token. */
  firstContent(): void {
    if (this.firstAt !== undefined) return this.content();
    const now = this.metrics.clock.now();
    this.firstAt = now;
    this.lastAt = now;
    this.events = 1;
    this.metrics.ttft.seriesFor([this.route, this.deployment, String(this.cold)]).observe((now - this.receivedAt) / 1000);
  }

  /** A content write reached the socket: records the gap since the previous one. */
  content(): void {
    if (this.firstAt === undefined) return this.firstContent();
    const now = this.metrics.clock.now();
    const gapMs = now - this.lastAt;
    this.lastAt = now;
    this.events++;
    this.gaps.add(gapMs);
    (this.gapSeries ??= this.metrics.gap.seriesFor([this.route, this.deployment])).observe(gapMs / 1000);
  }

  /** Ends the stream (idempotent: later calls return the first summary). */
  end(outcome: StreamOutcome): StreamSummary {
    if (this.ended) return this.ended;
    const now = this.metrics.clock.now();
    const durationMs = now - this.receivedAt;
    this.metrics.duration.seriesFor([this.route, this.deployment, outcome]).observe(durationMs / 1000);
    this.metrics.active.set(this.route, (this.metrics.active.get(this.route) ?? 1) - 1);
    this.ended = {
      ttftMs: this.firstAt === undefined ? undefined : this.firstAt - this.receivedAt,
      contentEvents: this.events,
      meanGapMs: this.gaps.mean,
      p95GapMs: this.gaps.quantile(0.95),
      largestGapMs: this.gaps.count ? this.gaps.largest : undefined,
      durationMs,
      outcome,
    };
    return this.ended;
  }
}
