// CPU cost per request of the request metrics (SPEC OBS-1), measured in isolation: the gateway's
// end-of-request hook (GatewayMetrics.onRequest through the request observer with tracing off)
// and one attempt report, over ledger-shaped records. `npm run bench:observability`.
import { MetricsRegistry } from '../src/observability/metrics-registry.js';
import { GatewayMetrics } from '../src/observability/gateway-metrics.js';
import { createRequestObserver } from '../src/observability/request-observer.js';
import type { RequestRecord } from '../src/store/interfaces.js';

const metrics = new GatewayMetrics(new MetricsRegistry());
const observer = createRequestObserver(metrics);
const deployments = ['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku', 'sim/sim-fast'];
const records: RequestRecord[] = deployments.map((servedBy, i) => ({
  id: `req_${i}`, createdAt: Date.now(), keyId: 'key_1', dialect: 'openai-chat', endpoint: '/v1/chat/completions', requestedModel: 'm', servedBy,
  provider: servedBy.split('/')[0], status: 200, stream: false, inputTokens: 120, outputTokens: 48, cacheReadTokens: 0, cacheWriteTokens: 0,
  reasoningTokens: 0, usageEstimated: false, costMicros: 37, priceMissing: false, attempts: 1, latencyMs: 12.5, overheadMs: 0.08,
  orgId: 'org_1', teamId: `team_${i}`, lane: 'interactive',
}));
const attempts = records.map((r) => [{ deployment: r.servedBy!, startedAt: 0, endedAt: 1, outcome: 'success' as const }]);
const ctx = { requestId: 'r', endpoint: '/v1/chat/completions', receivedAtMs: 0 };
const success = { kind: 'success' as const, ttftMs: 5 };

function run(n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    observer.begin(ctx, 'm');
    metrics.onAttempt(records[k]!.servedBy!, success);
    observer.end(ctx, records[k]!, attempts[k]!);
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

run(200_000);
const samples = [run(1_000_000), run(1_000_000), run(1_000_000)].sort((a, b) => a - b);
console.log(`request metrics: ${samples[1]!.toFixed(3)} µs CPU per request (median of 3 × 1,000,000; tracing off)`);
