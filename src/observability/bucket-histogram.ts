import type { MetricType, Registry } from 'prom-client';
import type { PromClient } from './metrics-registry.js';

/** One labelled series of a {@link BucketHistogram}. */
export interface HistogramSeries {
  /** Counts one value (in the histogram's unit, seconds for time). */
  observe(value: number): void;
}

interface SeriesData extends HistogramSeries {
  labels: Record<string, string>;
  /** Per-bucket counts, not cumulative; the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A value prom-client renders as one exposition line. */
interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/**
 * A Prometheus histogram kept without prom-client, so observing costs a short bucket scan and no
 * label hashing (prom-client hashes the label object on every `observe`), and so the process need
 * not load prom-client until a scrape. {@link register} exposes it on a prom-client registry.
 */
export class BucketHistogram {
  private readonly series = new Map<string, SeriesData>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {}

  /** The series for these label values (in `labelNames` order); look it up once, observe often. */
  seriesFor(values: readonly string[]): HistogramSeries {
    const key = values.join('\u0000');
    let data = this.series.get(key);
    if (!data) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''));
      data = createSeries(labels, this.bounds);
      this.series.set(key, data);
    }
    return data;
  }

  /** prom-client values: cumulative `_bucket` lines, then `_sum` and `_count`, per series. */
  exportValues(): ExportedValue[] {
    const out: ExportedValue[] = [];
    for (const data of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += data.counts[i]!;
        out.push({ labels: { ...data.labels, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      out.push({ labels: { ...data.labels, le: '+Inf' }, value: data.count, metricName: `${this.name}_bucket` });
      out.push({ labels: data.labels, value: data.sum, metricName: `${this.name}_sum` });
      out.push({ labels: data.labels, value: data.count, metricName: `${this.name}_count` });
    }
    return out;
  }

  /** Exposes this histogram on `registry` as a prom-client Histogram whose values are ours. */
  register(prom: PromClient, registry: Registry): void {
    const source = this;
    // prom-client renders whatever get()/getForPromString() return; overriding both keeps the
    // Prometheus text and the JSON form identical.
    class CollectedHistogram extends prom.Histogram<string> {
      override async get() {
        return { name: source.name, help: source.help, type: HISTOGRAM, values: source.exportValues(), aggregator: 'sum' as const, collect: () => {} };
      }
      getForPromString() {
        return this.get();
      }
    }
    new CollectedHistogram({ name: this.name, help: this.help, labelNames: [...this.labelNames], buckets: [...this.bounds], registers: [registry] });
  }
}

// prom-client declares `type` as a numeric enum but renders the string it holds at run time.
const HISTOGRAM = 'histogram' as unknown as MetricType;

function createSeries(labels: Record<string, string>, bounds: readonly number[]): SeriesData {
  const data: SeriesData = {
    labels,
    counts: new Float64Array(bounds.length + 1),
    sum: 0,
    count: 0,
    observe(value: number) {
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i++;
      data.counts[i] = data.counts[i]! + 1;
      data.sum += value;
      data.count++;
    },
  };
  return data;
}
