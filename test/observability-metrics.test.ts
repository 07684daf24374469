import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { HeadlineStats } from '../src/observability/gateway-observability.js';
import type { SimAdapter } from '../src/sim/sim-adapter.js';
import { parsePrometheus, sampleSum, sampleValue, type Sample } from './helpers/prometheus-text.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// Scripted traffic against a real gateway, then the values /metrics and /admin/stats report
// (SPEC OBS-1, OBS-9): successes, a semantic failure answered by the fallback, a request whose
// every answer failed validation, an unknown model and a stream.

const CONFIG = `
providers:
  sim: { kind: sim }
  sim-b: { kind: sim }
models:
  solo: sim/sim-fast
  strict:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    validators: [{ type: refusal }]
  capped:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    validators: [{ type: refusal }]
    retry: { maxSpendMicros: 1 }
`;

const CHAT = '/v1/chat/completions';
let gateway: TestGateway;
let openai: OpenAI;
let samples: Sample[];
const errorOverheads: string[] = [];

before(async () => {
  gateway = await startTestGateway({ configYaml: CONFIG });
  // Requests served during the warm-up after ready are all cold (SPEC CS-2).
  await gateway.app.warmUp.done;
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  const primary = gateway.app.providers.adapter('sim') as SimAdapter;
  const messages = [{ role: 'user' as const, content: 'Say something useful' }];

  for (let i = 0; i < 3; i++) await openai.chat.completions.create({ model: 'solo', messages, max_tokens: 16 });
  const stream = await openai.chat.completions.create({ model: 'solo', messages, max_tokens: 16, stream: true });
  for await (const _chunk of stream);

  primary.engine.setFaults('refusal');
  const fellBack = await openai.chat.completions.create({ model: 'strict', messages, max_tokens: 16 }).withResponse();
  assert.equal(fellBack.response.headers.get('x-breakwater-served-by'), 'sim-b/sim-fast');
  const capped = await fetch(`${gateway.url}${CHAT}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'capped', messages, max_tokens: 16 }),
  });
  assert.equal(capped.status, 502);
  errorOverheads.push(capped.headers.get('x-breakwater-overhead-ms') ?? '');
  primary.engine.clearFaults();

  const unknown = await fetch(`${gateway.url}${CHAT}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'no-such-model', messages }),
  });
  assert.equal(unknown.status, 404);
  errorOverheads.push(unknown.headers.get('x-breakwater-overhead-ms') ?? '');
  const unauthenticated = await fetch(`${gateway.url}${CHAT}`, { method: 'POST', body: '{}' });
  assert.equal(unauthenticated.status, 401);
  errorOverheads.push(unauthenticated.headers.get('x-breakwater-overhead-ms') ?? '');

  samples = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
});

after(async () => {
  await gateway?.close();
});

test('requests are counted by route, provider, model and outcome', () => {
  const requests = (labels: Record<string, string>) => sampleValue(samples, 'breakwater_requests_total', { route: CHAT, ...labels });
  assert.equal(requests({ provider: 'sim', model: 'sim-fast', outcome: 'success' }), 4, 'three answers and a stream');
  assert.equal(requests({ provider: 'sim-b', model: 'sim-fast', outcome: 'success' }), 1, 'the fallback answer');
  assert.equal(requests({ provider: 'none', model: 'none', outcome: 'error' }), 2, 'the capped request and the unknown model');
  assert.equal(sampleValue(samples, 'breakwater_request_errors_total', { route: CHAT, code: 'semantic_validation_failed' }), 1);
  assert.equal(sampleValue(samples, 'breakwater_request_errors_total', { route: CHAT, code: 'model_not_found' }), 1);
});

test('attempts show the semantic failures, and retries and fallbacks are counted', () => {
  const attempts = (provider: string, outcome: string) => sampleValue(samples, 'breakwater_attempts_total', { provider, model: 'sim-fast', outcome });
  assert.equal(attempts('sim', 'semantic_failure'), 2, 'the refusals of the strict and the capped request');
  assert.equal(attempts('sim', 'success'), 4);
  assert.equal(attempts('sim-b', 'success'), 1);
  assert.equal(attempts('sim-b', 'semantic_failure'), 0, 'the capped request never paid for the fallback');
  assert.equal(sampleValue(samples, 'breakwater_fallbacks_total', { route: CHAT }), 1);
  assert.equal(sampleValue(samples, 'breakwater_retries_total', { route: CHAT }), 1, 'the strict request took two attempts');
});

test('tokens and cost add up to what the ledger records', async () => {
  await gateway.app.ledger.flush();
  const records = await gateway.app.stores.ledger.listRequests({ limit: 100 });
  const served = records.filter((r) => r.status === 200);
  assert.equal(served.length, 5);
  const input = served.reduce((sum, r) => sum + r.inputTokens, 0);
  const output = served.reduce((sum, r) => sum + r.outputTokens, 0);
  assert.ok(input > 0 && output > 0);
  assert.equal(sampleSum(samples, 'breakwater_tokens_total', { kind: 'input' }), input);
  assert.equal(sampleSum(samples, 'breakwater_tokens_total', { kind: 'output' }), output);
  const cost = records.reduce((sum, r) => sum + r.costMicros, 0) / 1e6;
  assert.ok(Math.abs(sampleSum(samples, 'breakwater_cost_usd_total') - cost) < 1e-9);
});

test('latency and overhead histograms count every gateway request; errors carry the overhead header too', () => {
  assert.equal(sampleSum(samples, 'breakwater_request_duration_seconds_count', { route: CHAT, outcome: 'success' }), 5);
  assert.equal(sampleSum(samples, 'breakwater_request_duration_seconds_count', { route: CHAT, outcome: 'error' }), 2);
  // The first request to the sim provider is cold (SPEC CS-3); the rest follow it at once.
  assert.equal(sampleSum(samples, 'breakwater_request_duration_seconds_count', { route: CHAT, cold: 'true' }), 1);
  assert.equal(sampleValue(samples, 'breakwater_overhead_seconds_count', { route: CHAT }), 7);
  const overheadSum = sampleValue(samples, 'breakwater_overhead_seconds_sum', { route: CHAT });
  const latencySum = sampleSum(samples, 'breakwater_request_duration_seconds_sum', { route: CHAT });
  assert.ok(overheadSum > 0 && overheadSum <= latencySum, `overhead ${overheadSum} s within latency ${latencySum} s`);
  for (const value of errorOverheads) assert.match(value, /^\d+\.\d{3}$/);
});

test('gauges: breakers, ledger backlog, streams, lanes; no per-key or per-request labels anywhere', () => {
  assert.equal(sampleValue(samples, 'breakwater_breaker_state', { deployment: 'sim/sim-fast', state: 'closed' }), 1);
  assert.equal(sampleValue(samples, 'breakwater_breaker_state', { deployment: 'sim/sim-fast', state: 'open' }), 0);
  assert.ok(samples.some((s) => s.name === 'breakwater_ledger_backlog'));
  assert.equal(sampleValue(samples, 'breakwater_lane_queue_depth', { lane: 'interactive' }), 0);
  assert.equal(sampleSum(samples, 'breakwater_streams_active'), 0);
  const labelNames = new Set(samples.flatMap((s) => Object.keys(s.labels)));
  for (const forbidden of ['key', 'key_id', 'request_id', 'requestId', 'user']) assert.ok(!labelNames.has(forbidden), forbidden);
});

test('GET /admin/stats gives the same headline numbers, and needs an admin key', async () => {
  const refused = await fetch(`${gateway.url}/admin/stats`, { headers: { authorization: `Bearer ${gateway.key}` } });
  assert.equal(refused.status, 401);
  const stats = (await (await fetch(`${gateway.url}/admin/stats`, { headers: { authorization: `Bearer ${gateway.adminKey}` } })).json()) as HeadlineStats;
  assert.deepEqual(stats.requests, { total: 7, success: 5, errors: 2, cancelled: 0 });
  assert.equal(stats.attempts.semanticFailures, 2);
  assert.equal(stats.attempts.fallbacks, 1);
  assert.equal(stats.errorsByCode.model_not_found, 1);
  assert.deepEqual(
    stats.deployments.map((d) => [d.deployment, d.requests]),
    [
      ['sim/sim-fast', 4],
      ['sim-b/sim-fast', 1],
    ],
  );
});

test('breakwater top renders the headline numbers from /admin/stats', async () => {
  const { runTop } = await import('../src/cli/top-command.js');
  let screen = '';
  await runTop({ url: gateway.url, adminKey: gateway.adminKey, intervalMs: 10, once: true, write: (text) => (screen += text) });
  assert.match(screen, /requests\s+7\b/);
  assert.match(screen, /semantic failures 2\b/);
  assert.match(screen, /sim-b\/sim-fast\s+1\s+0\s+1\s+0\s+\$\d+\.\d{4}\s+closed/);
  assert.match(screen, /model_not_found 1/);
  await assert.rejects(runTop({ url: gateway.url, adminKey: gateway.key, intervalMs: 10, once: true, write: () => {} }), /401/);
});
