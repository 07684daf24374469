import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readSse } from './helpers/sse-client.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway();
});
after(() => gateway?.close());

test('every answer reports the time spent in the gateway, x-breakwater-overhead-ms (SPEC OBS-9)', async () => {
  const auth = { authorization: `Bearer ${gateway.key}` };
  const admin = { authorization: `Bearer ${gateway.adminKey}` };
  const chat = (headers: Record<string, string>, body: unknown) =>
    fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const resumable = await chat({ 'x-breakwater-resumable': 'true' }, { model: 'sim-fast', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const streamId = resumable.headers.get('x-breakwater-stream-id')!;
  await readSse(resumable);
  const answers: Array<[string, Response]> = [
    ['completion', await chat({}, { model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }] })],
    ['stream', resumable],
    ['stream replay', await fetch(`${gateway.url}/v1/streams/${streamId}`, { headers: auth })],
    ['models', await fetch(`${gateway.url}/v1/models`, { headers: auth })],
    ['health', await fetch(`${gateway.url}/healthz`)],
    ['readiness', await fetch(`${gateway.url}/readyz`)],
    ['admin', await fetch(`${gateway.url}/admin/breakers`, { headers: admin })],
    ['error', await chat({}, { model: 'nope', messages: [] })],
    ['not found', await fetch(`${gateway.url}/nowhere`)],
  ];
  for (const [what, res] of answers) {
    if (!res.bodyUsed && !res.body?.locked) await res.body?.cancel();
    assert.match(res.headers.get('x-breakwater-overhead-ms') ?? '', /^\d+\.\d{3}$/, what);
  }
});
