import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSimBackedGateway, type SimBackedGateway } from './helpers/sim-backed-gateway.js';
import type { TestGateway } from './helpers/test-gateway.js';

let upstream: SimBackedGateway;
let gateway: TestGateway;

before(async () => {
  // Real timing upstream: sim-fast streams ~120 tokens/s, so a 600-word answer lasts seconds.
  upstream = await startSimBackedGateway({
    seed: 3,
    timeScale: 1,
    configYaml: (url) => `providers:\n  remote: { kind: openai-compatible, baseUrl: "${url}/v1", apiKey: k }\nmodels:\n  remote-fast: remote/sim-fast\n`,
  });
  gateway = upstream.gateway;
});

after(() => upstream?.close());

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

function chatRequest(content: string, stream: boolean, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'remote-fast', stream, messages: [{ role: 'user', content }] }),
    signal,
  });
}

test('a client leaving a stream closes the upstream request and bills the partial usage', async () => {
  upstream.clearJournal();
  const controller = new AbortController();
  const res = await chatRequest('Write 600 words about tides', true, controller.signal);
  assert.equal(res.status, 200);
  const requestId = res.headers.get('x-breakwater-request-id')!;
  const reader = res.body!.getReader();
  await reader.read();
  const leftAt = Date.now();
  controller.abort();

  const closed = await eventually(async () => upstream.journal().some((e) => e.outcome === 'aborted'), 2000);
  assert.ok(closed, 'the upstream saw its connection closed');
  assert.ok(Date.now() - leftAt < 2000);

  await eventually(async () => {
    await gateway.app.ledger.flush();
    return (await gateway.app.stores.ledger.getRequest(requestId)) !== undefined;
  }, 2000);
  const record = await gateway.app.stores.ledger.getRequest(requestId);
  assert.equal(record?.status, 499);
  assert.ok(record!.inputTokens > 0, 'prompt tokens of the aborted stream are billed');
});

test('a client leaving a non-streamed request closes the upstream request too', async () => {
  upstream.clearJournal();
  const controller = new AbortController();
  const pending = chatRequest('Write 600 words about harbours', false, controller.signal).catch((error: unknown) => error);
  assert.ok(await eventually(async () => upstream.journal().length > 0, 2000), 'the upstream call started');
  controller.abort();
  await pending;
  assert.ok(await eventually(async () => upstream.journal().some((e) => e.outcome === 'aborted'), 2000), 'the upstream saw its connection closed');
});

test('closing the gateway lets an in-flight stream finish, then refuses new connections', async () => {
  const res = await chatRequest('Write 60 words about piers', true);
  assert.equal(res.status, 200);
  const closing = gateway.app.close();
  const text = await res.text();
  assert.match(text, /"finish_reason":"stop"/);
  assert.match(text, /data: \[DONE\]/);
  await closing;
  await assert.rejects(chatRequest('after close', false));
});
