import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { MetricsRegistry } from '../src/observability/metrics-registry.js';
import { StreamMetrics } from '../src/observability/stream-metrics.js';
import { createMetricsHandler } from '../src/server/metrics-route.js';

const ROUTE = '/v1/chat/completions';

function setup() {
  const clock = new ManualClock(1_000_000);
  const registry = new MetricsRegistry();
  const metrics = new StreamMetrics({ clock, registry });
  return { clock, registry, metrics };
}

/** The value of one exposition line, by its exact name and label text. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  assert.ok(line, `no line ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

test('time to first token lands in its bucket with the cold label, in seconds', async () => {
  const { clock, registry, metrics } = setup();
  const receivedAt = clock.now();
  const stream = metrics.start(ROUTE, receivedAt);
  stream.setDeployment('sim/sim-fast');
  await clock.advance(240);
  stream.firstContent();
  stream.end('completed');
  const second = metrics.start(ROUTE, clock.now());
  second.setDeployment('sim/sim-fast');
  await clock.advance(30);
  second.content();
  second.end('completed');

  const { text } = await registry.exposition();
  const cold = `route="${ROUTE}",deployment="sim/sim-fast",cold="true"`;
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_bucket{${cold},le="0.1"}`), 0);
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_bucket{${cold},le="0.25"}`), 1);
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_sum{${cold}}`), 0.24);
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_count{${cold}}`), 1);
  const warm = `route="${ROUTE}",deployment="sim/sim-fast",cold="false"`;
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_bucket{${warm},le="0.025"}`), 0);
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_bucket{${warm},le="0.05"}`), 1);
  assert.equal(sample(text, `breakwater_stream_ttft_seconds_sum{${warm}}`), 0.03);
});

test('inter-token gaps are counted per gap, and the stream summary has mean, p95 and largest', async () => {
  const { clock, registry, metrics } = setup();
  const stream = metrics.start(ROUTE, clock.now());
  stream.setDeployment('remote/gpt', false);
  await clock.advance(100);
  stream.content();
  // 19 gaps of 20 ms and one of 700 ms.
  for (let i = 0; i < 19; i++) {
    await clock.advance(20);
    stream.content();
  }
  await clock.advance(700);
  stream.content();
  await clock.advance(5);
  const summary = stream.end('completed');

  assert.equal(summary.ttftMs, 100);
  assert.equal(summary.contentEvents, 21);
  assert.equal(summary.largestGapMs, 700);
  assert.equal(summary.meanGapMs, (19 * 20 + 700) / 20);
  assert.ok(summary.p95GapMs! >= 20 && summary.p95GapMs! <= 21, `p95 ${summary.p95GapMs} is the 19th of 20 gaps (20 ms, within 5%)`);
  assert.equal(summary.durationMs, 100 + 19 * 20 + 700 + 5);
  assert.equal(summary.outcome, 'completed');

  const { text } = await registry.exposition();
  const labels = `route="${ROUTE}",deployment="remote/gpt"`;
  assert.equal(sample(text, `breakwater_stream_gap_seconds_bucket{${labels},le="0.01"}`), 0);
  assert.equal(sample(text, `breakwater_stream_gap_seconds_bucket{${labels},le="0.025"}`), 19);
  assert.equal(sample(text, `breakwater_stream_gap_seconds_bucket{${labels},le="0.5"}`), 19);
  assert.equal(sample(text, `breakwater_stream_gap_seconds_bucket{${labels},le="1"}`), 20);
  assert.equal(sample(text, `breakwater_stream_gap_seconds_bucket{${labels},le="+Inf"}`), 20);
  assert.equal(sample(text, `breakwater_stream_gap_seconds_count{${labels}}`), 20);
  assert.ok(Math.abs(sample(text, `breakwater_stream_gap_seconds_sum{${labels}}`) - 1.08) < 1e-9);
  assert.equal(sample(text, `breakwater_stream_duration_seconds_bucket{${labels},outcome="completed",le="1"}`), 0);
  assert.equal(sample(text, `breakwater_stream_duration_seconds_bucket{${labels},outcome="completed",le="2.5"}`), 1);
  assert.ok(Math.abs(sample(text, `breakwater_stream_duration_seconds_sum{${labels},outcome="completed"}`) - 1.185) < 1e-9);
});

test('the active gauge counts open streams per route, and end is idempotent', async () => {
  const { clock, registry, metrics } = setup();
  const a = metrics.start(ROUTE, clock.now());
  const b = metrics.start(ROUTE, clock.now());
  metrics.start('/v1/messages', clock.now());
  let { text } = await registry.exposition();
  assert.equal(sample(text, `breakwater_streams_active{route="${ROUTE}"}`), 2);
  assert.equal(sample(text, `breakwater_streams_active{route="/v1/messages"}`), 1);
  a.end('disconnected');
  a.end('completed');
  b.end('failed');
  ({ text } = await registry.exposition());
  assert.equal(sample(text, `breakwater_streams_active{route="${ROUTE}"}`), 0);
  // A stream that never got a deployment or content still counts, under deployment "none".
  assert.equal(sample(text, `breakwater_stream_duration_seconds_count{route="${ROUTE}",deployment="none",outcome="disconnected"}`), 1);
  assert.ok(!text.includes('outcome="completed"'), 'the second end() of a stream was ignored');
});

test('label values are bounded: routes past the cap are reported as other', async () => {
  const { clock, registry, metrics } = setup();
  for (let i = 0; i < 40; i++) metrics.start(`/v1/x/${i}`, clock.now()).end('completed');
  const { text } = await registry.exposition();
  const routes = new Set([...text.matchAll(/breakwater_streams_active\{route="([^"]+)"\}/g)].map((m) => m[1]));
  assert.equal(routes.size, 33);
  assert.ok(routes.has('other'));
});

test('prom-client is loaded only by the first scrape, and /metrics serves the text format', async () => {
  const { clock, registry, metrics } = setup();
  metrics.start(ROUTE, clock.now()).end('completed');
  assert.equal(registry.isLoaded, false, 'observing did not load prom-client');
  const server = createServer((req, res) => void createMetricsHandler(registry)(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /# TYPE breakwater_stream_ttft_seconds histogram/);
    assert.match(text, /# TYPE breakwater_streams_active gauge/);
    assert.equal(sample(text, `breakwater_stream_duration_seconds_count{route="${ROUTE}",deployment="none",outcome="completed"}`), 1);
    assert.equal(registry.isLoaded, true);
  } finally {
    server.close();
  }
});
