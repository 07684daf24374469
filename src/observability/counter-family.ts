import type { MetricType, Registry } from 'prom-client';
import type { PromClient } from './metrics-registry.js';

/** One labelled series of a {@link CounterFamily}: a plain number, bumped without label hashing. */
export interface CounterCell {
  value: number;
}

/**
 * A Prometheus counter kept without prom-client, like {@link BucketHistogram}: callers look a
 * cell up once per label set (or cache it) and add to `value`; the registry renders the cells at
 * scrape time. prom-client's own `inc(labels)` hashes the label object on every call.
 */
export class CounterFamily {
  private readonly cells = new Map<string, { labels: Record<string, string>; cell: CounterCell }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The cell for these label values (in `labelNames` order). */
  cell(values: readonly string[]): CounterCell {
    const key = values.join('\u0000');
    let entry = this.cells.get(key);
    if (!entry) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''));
      entry = { labels, cell: { value: 0 } };
      this.cells.set(key, entry);
    }
    return entry.cell;
  }

  /** Every series with its labels, for stats and the dashboard. */
  *entries(): IterableIterator<{ labels: Record<string, string>; value: number }> {
    for (const { labels, cell } of this.cells.values()) yield { labels, value: cell.value };
  }

  /** Sum over series whose labels match `where`. */
  sum(where: Record<string, string> = {}): number {
    let total = 0;
    outer: for (const { labels, cell } of this.cells.values()) {
      for (const name in where) if (labels[name] !== where[name]) continue outer;
      total += cell.value;
    }
    return total;
  }

  /** Exposes the family on `registry` as a prom-client Counter whose values are ours. */
  register(prom: PromClient, registry: Registry): void {
    const source = this;
    class CollectedCounter extends prom.Counter<string> {
      override async get() {
        const values = [...source.cells.values()].map(({ labels, cell }) => ({ labels, value: cell.value }));
        return { name: source.name, help: source.help, type: COUNTER, values, aggregator: 'sum' as const, collect: () => {} };
      }
      getForPromString() {
        return this.get();
      }
    }
    new CollectedCounter({ name: this.name, help: this.help, labelNames: [...this.labelNames], registers: [registry] });
  }
}

// prom-client declares `type` as a numeric enum but renders the string it holds at run time.
const COUNTER = 'counter' as unknown as MetricType;

/** A bounded set of label values: the first `limit` distinct values pass, later ones become `other`. */
export class LabelGuard {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}

  admit(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(value);
    return value;
  }
}
