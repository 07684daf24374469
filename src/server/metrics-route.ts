import type { IncomingMessage, ServerResponse } from 'node:http';
import { processMetrics, type MetricsRegistry } from '../observability/metrics-registry.js';

/** A `GET /metrics` handler for `registry`: the Prometheus text format (SPEC OBS-1). */
export function createMetricsHandler(registry: MetricsRegistry): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (_req, res) => {
    const { contentType, text } = await registry.exposition();
    // Scrapers poll; a cached or compressed copy would hide the live values.
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };
}

/** `GET /metrics` for the process registry; loads prom-client on the first scrape. */
export const handleMetrics = createMetricsHandler(processMetrics);
