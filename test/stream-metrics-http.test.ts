import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { readSse } from './helpers/sse-client.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway();
  // Requests served during the warm-up after ready are all cold (SPEC CS-2).
  await gateway.app.warmUp.done;
});
after(() => gateway?.close());

/** The value of one series in Prometheus text, or 0 when absent. */
function series(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const found = Object.fromEntries(body.split(',').map((pair) => pair.split('=').map((part) => part.replace(/^"|"$/g, '')) as [string, string]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

test('plain, resumable and Responses streams show up in /metrics per route, deployment and outcome', async () => {
  const chat = (headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'sim-fast', stream: true, messages: [{ role: 'user', content: 'Hi there' }] }),
    });
  await readSse(await chat());
  await readSse(await chat());
  await readSse(await chat({ 'x-breakwater-resumable': 'true' }));
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  for await (const _event of await client.responses.create({ model: 'sim-fast', input: 'Hi', stream: true }));

  const res = await fetch(`${gateway.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  const chatRoute = { route: '/v1/chat/completions', deployment: 'sim/sim-fast' };
  const ttft = series(text, 'breakwater_stream_ttft_seconds_count', { ...chatRoute, cold: 'true' }) + series(text, 'breakwater_stream_ttft_seconds_count', { ...chatRoute, cold: 'false' });
  assert.equal(ttft, 3, 'every chat stream, plain or resumable, has a first token');
  assert.equal(series(text, 'breakwater_stream_ttft_seconds_count', { ...chatRoute, cold: 'true' }), 1, 'only the first stream to a deployment is cold');
  assert.equal(series(text, 'breakwater_stream_duration_seconds_count', { ...chatRoute, outcome: 'completed' }), 3);
  assert.ok(series(text, 'breakwater_stream_gap_seconds_count', chatRoute) > 10, 'inter-token gaps are observed');
  assert.equal(series(text, 'breakwater_stream_duration_seconds_count', { route: '/v1/responses', deployment: 'sim/sim-fast', outcome: 'completed' }), 1);
  assert.equal(series(text, 'breakwater_streams_active', { route: '/v1/chat/completions' }), 0, 'nothing left open');
});
