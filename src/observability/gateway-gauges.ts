import type { BreakerSnapshot, BreakerState } from '../resilience/circuit-breaker.js';
import type { Lane } from '../store/interfaces.js';
import type { MetricsRegistry } from './metrics-registry.js';
import type { RunsView } from './runs-view.js';

/** Point-in-time readings of the process, read at scrape time only. */
export interface GaugeSources {
  breakers(): Record<string, BreakerSnapshot>;
  /** Ledger records waiting for the batch writer. */
  ledgerBacklog(): number;
  /** Resumable streams held by the stream hub. */
  resumableStreams(): number;
  /** HTTP requests being handled. */
  inFlight(): number;
  /** Requests waiting in lane queues. */
  laneQueued(): Record<Lane, number>;
  runs?: RunsView | undefined;
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half_open', 'open'];

/** Registers the gauges of {@link GaugeSources} (SPEC OBS-1): nothing is computed between scrapes. */
export function registerGatewayGauges(registry: MetricsRegistry, sources: GaugeSources): void {
  registry.addSource((prom, reg) => {
    new prom.Gauge({
      name: 'breakwater_breaker_state',
      help: 'Circuit breaker state by deployment: 1 for the current state, 0 for the others',
      labelNames: ['deployment', 'state'],
      registers: [reg],
      collect() {
        this.reset();
        for (const [deployment, snapshot] of Object.entries(sources.breakers())) {
          for (const state of BREAKER_STATES) this.set({ deployment, state }, snapshot.state === state ? 1 : 0);
        }
      },
    });
    const simple = (name: string, help: string, read: () => number) =>
      new prom.Gauge({
        name,
        help,
        registers: [reg],
        collect() {
          this.set(read());
        },
      });
    simple('breakwater_ledger_backlog', 'Ledger records queued for the batch writer', sources.ledgerBacklog);
    simple('breakwater_resumable_streams_active', 'Resumable streams held by this process', sources.resumableStreams);
    simple('breakwater_requests_in_flight', 'HTTP requests being handled now', sources.inFlight);
    new prom.Gauge({
      name: 'breakwater_lane_queue_depth',
      help: 'Requests waiting for deployment capacity, by lane',
      labelNames: ['lane'],
      registers: [reg],
      collect() {
        for (const [lane, depth] of Object.entries(sources.laneQueued())) this.set({ lane }, depth);
      },
    });
    const runs = sources.runs;
    if (runs) {
      new prom.Gauge({
        name: 'breakwater_runs',
        help: 'Durable runs by state',
        labelNames: ['state'],
        registers: [reg],
        async collect() {
          this.reset();
          // A run store that cannot answer (a database outage) costs this gauge, not the whole scrape.
          const counts = await runs.countByState().catch(() => ({}));
          for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
        },
      });
    }
  });
}
