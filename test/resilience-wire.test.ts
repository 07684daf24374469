import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { startSimBackedGateway, type SimBackedGateway } from './helpers/sim-backed-gateway.js';
import type { TestGateway } from './helpers/test-gateway.js';

// Faults that only exist on the wire (broken SSE, a missing terminator, a dropped socket) against
// a real HTTP upstream: `sim serve` registered as an OpenAI-compatible provider.
let upstream: SimBackedGateway;
let gateway: TestGateway;

before(async () => {
  upstream = await startSimBackedGateway({
    seed: 5,
    timeScale: 0,
    configYaml: (url) =>
      `providers:\n  wire: { kind: openai-compatible, baseUrl: "${url}/v1", apiKey: k }\nmodels:\n  wired: wire/sim-fast\nroutes:\n  defaults:\n    timeouts: { headersMs: 400, firstTokenMs: 400, idleMs: 400 }\n`,
  });
  gateway = upstream.gateway;
});

after(() => upstream?.close());

beforeEach(() => upstream.clearJournal());

async function stream(fault: string): Promise<{ status: number; raw: string; text: string; error?: { code: string; reason?: string }; usage?: unknown }> {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json', 'x-sim-fault': fault },
    body: JSON.stringify({ model: 'wired', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Tell me about tides' }] }),
  });
  const raw = await res.text();
  let text = '';
  let error;
  let usage;
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const data = JSON.parse(line.slice(6)) as { error?: { code: string }; usage?: unknown; choices?: Array<{ delta: { content?: string } }> };
    if (data.error) error = data.error;
    if (data.usage) usage = data.usage;
    text += data.choices?.[0]?.delta.content ?? '';
  }
  return { status: res.status, raw, text, error, usage };
}

test('a malformed first chunk is retried before any byte reaches the client', async () => {
  const result = await stream('malformed:at=1:times=1');
  assert.equal(result.status, 200);
  assert.equal(result.error, undefined);
  assert.ok(result.raw.endsWith('data: [DONE]\n\n'));
  assert.equal(upstream.journal().length, 2);
});

test('a malformed chunk after content fails cleanly in-band, without [DONE]', async () => {
  const result = await stream('malformed:at=4');
  assert.ok(result.text.length > 0);
  assert.equal(result.error?.code, 'upstream_error');
  assert.equal(result.error?.reason, 'malformed_chunk');
  assert.ok(!result.raw.includes('[DONE]'));
});

test('a stream without [DONE] is finalised promptly, with usage', async () => {
  const result = await stream('no-terminator');
  assert.equal(result.error, undefined);
  assert.ok(result.text.length > 0);
  assert.ok(result.usage, 'usage was reported');
  assert.ok(result.raw.endsWith('data: [DONE]\n\n'));
});

test('a connection dropped mid-answer ends in an in-band error', async () => {
  const result = await stream('cut:after=3');
  assert.ok(result.text.length > 0);
  assert.ok(result.error);
  assert.ok(!result.raw.includes('[DONE]'));
});

test('a non-streamed request to a silent upstream gets a 504 at the header timeout, not the deadline', async () => {
  for (const fault of ['hang', 'stall:after=2']) {
    const started = performance.now();
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json', 'x-sim-fault': fault },
      body: JSON.stringify({ model: 'wired', messages: [{ role: 'user', content: 'hello' }] }),
    });
    const body = (await res.json()) as { error: { code: string; reason: string } };
    assert.equal(res.status, 504, fault);
    assert.equal(body.error.code, 'upstream_timeout');
    assert.ok(performance.now() - started < 3000, `${fault}: answered in ${performance.now() - started} ms`);
  }
  const calls = upstream.journal();
  assert.equal(calls.filter((c) => c.faults.includes('hang')).length, 1, 'a silent upstream is not asked again');
  assert.equal(calls.filter((c) => c.faults.some((f) => f.startsWith('stall'))).length, 2, 'a stall after output is retried once');
});
