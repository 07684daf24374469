import type { Registry } from 'prom-client';

/** prom-client's module, handed to metric sources so none of them imports it eagerly. */
export type PromClient = typeof import('prom-client');

/** Registers a component's metrics on the registry once prom-client is loaded. */
export type MetricSource = (prom: PromClient, registry: Registry) => void;

/**
 * The Prometheus registry of one process, built on the first scrape. Importing prom-client costs
 * ~35 ms (`node -e` import timing on the reference machine), a fifth of the start-up budget
 * (SPEC PERF-3), so components keep their own counts and add a {@link MetricSource} that exposes
 * them; nothing loads prom-client until somebody asks for `/metrics`.
 */
export class MetricsRegistry {
  private readonly sources: MetricSource[] = [];
  private loaded: { prom: PromClient; registry: Registry } | undefined;
  private loading: Promise<Registry> | undefined;

  /** Adds a source; applied at once when the registry is already loaded. */
  addSource(source: MetricSource): void {
    this.sources.push(source);
    if (this.loaded) source(this.loaded.prom, this.loaded.registry);
  }

  /** Whether prom-client has been loaded (tests check that nothing loads it early). */
  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** Loads prom-client on first use and registers every source. */
  registry(): Promise<Registry> {
    this.loading ??= import('prom-client').then((prom) => {
      const registry = new prom.Registry();
      this.loaded = { prom, registry };
      for (const source of this.sources) source(prom, registry);
      return registry;
    });
    return this.loading;
  }

  /** The exposition: Prometheus text format and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    const registry = await this.registry();
    return { contentType: registry.contentType, text: await registry.metrics() };
  }
}

/** The registry `GET /metrics` serves. */
export const processMetrics = new MetricsRegistry();
