import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSimBackedGateway, type SimBackedGateway } from './helpers/sim-backed-gateway.js';
import type { TestGateway } from './helpers/test-gateway.js';

// Real time, small numbers: the gateway commits a silent stream after 300 ms with a heartbeat and
// keeps sending one every 400 ms of silence (SPEC ST-5). The margins leave room for a loaded CI box.
let upstream: SimBackedGateway;
let gateway: TestGateway;

before(async () => {
  upstream = await startSimBackedGateway({
    seed: 9,
    timeScale: 0,
    configYaml: (url) => `
providers:
  remote: { kind: openai-compatible, baseUrl: "${url}/v1", apiKey: k }
models:
  remote-fast: remote/sim-fast
routes:
  defaults:
    timeouts: { headersMs: 1500, firstTokenMs: 1500, idleMs: 1200 }
stream: { earlyCommitMs: 300, heartbeatMs: 400 }
`,
  });
  gateway = upstream.gateway;
});

after(() => upstream?.close());

async function stream(path: '/v1/chat/completions' | '/v1/messages', fault?: string) {
  const started = performance.now();
  const headers: Record<string, string> = { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' };
  if (fault) headers['x-sim-fault'] = fault;
  const body =
    path === '/v1/messages'
      ? { model: 'remote-fast', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }
      : { model: 'remote-fast', stream: true, messages: [{ role: 'user', content: 'hi' }] };
  const res = await fetch(gateway.url + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const headersAfterMs = performance.now() - started;
  return { status: res.status, headersAfterMs, raw: await res.text() };
}

test('a stream whose upstream is slow to start commits early with a heartbeat, then delivers everything', async () => {
  const result = await stream('/v1/chat/completions', 'slow-first-token:ms=1100');
  assert.equal(result.status, 200);
  assert.ok(result.headersAfterMs < 1000, `headers after ${result.headersAfterMs.toFixed(0)} ms, before the first token at 1100 ms`);
  assert.ok(result.raw.startsWith(': ping\n\n'), 'a heartbeat comment came first');
  assert.ok(result.raw.indexOf(': ping') < result.raw.indexOf('data: {'), 'heartbeats precede content');
  assert.ok(result.raw.endsWith('data: [DONE]\n\n'));
});

test('on /v1/messages the heartbeat is an Anthropic ping event', async () => {
  const result = await stream('/v1/messages', 'slow-first-token:ms=800');
  assert.ok(result.raw.startsWith('event: ping\ndata: {"type":"ping"}\n\n'));
  assert.match(result.raw, /event: message_stop/);
});

test('a prompt stream commits at its first content, with no heartbeat', async () => {
  const result = await stream('/v1/chat/completions');
  assert.ok(!result.raw.includes(': ping'));
  assert.ok(result.raw.endsWith('data: [DONE]\n\n'));
});

test('a failure after the early commit is an in-band error, not a clean end', async () => {
  const result = await stream('/v1/chat/completions', 'hang');
  assert.equal(result.status, 200, 'the status line had already gone out');
  assert.match(result.raw, /data: \{"error":\{[^\n]*"code":"upstream_timeout"/);
  assert.ok(!result.raw.includes('[DONE]'));
});

test('heartbeats keep a stalled stream alive until the idle timeout ends it in-band', async () => {
  const result = await stream('/v1/chat/completions', 'stall:after=2');
  const firstData = result.raw.indexOf('data: {');
  assert.ok(firstData >= 0);
  assert.ok(result.raw.indexOf(': ping', firstData) > firstData, 'a heartbeat during the silence');
  assert.match(result.raw, /"reason":"idle_timeout"/);
});
