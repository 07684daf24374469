import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const CAPACITY = 4;
const HOLD_MS = 15;

/** An OpenAI-compatible upstream that serves at most CAPACITY requests at once and 429s the rest. */
function startCappedUpstream(): Promise<{ server: Server; url: string; stats: { served: number; rejected: number; peak: number } }> {
  const stats = { served: 0, rejected: 0, peak: 0 };
  let inFlight = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (inFlight >= CAPACITY) {
        stats.rejected++;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end(JSON.stringify({ error: { message: 'over capacity', type: 'rate_limit_error' } }));
        return;
      }
      inFlight++;
      stats.peak = Math.max(stats.peak, inFlight);
      setTimeout(() => {
        inFlight--;
        stats.served++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 0,
            model: 'm',
            choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
          }),
        );
      }, HOLD_MS);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats })));
}

let upstream: Awaited<ReturnType<typeof startCappedUpstream>>;
let gateway: TestGateway;

before(async () => {
  upstream = await startCappedUpstream();
  gateway = await startTestGateway({
    configYaml: `
providers:
  cap: { kind: openai-compatible, baseUrl: "${upstream.url}/v1", apiKey: k, models: [m] }
routes:
  defaults: { streamUpstream: false }
lanes:
  batchShare: 0.5
  capacity:
    cap/m: { concurrency: ${CAPACITY} }
`,
  });
});

after(async () => {
  await gateway?.close();
  await new Promise((resolve) => upstream?.server.close(resolve));
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

test('a batch flood at 10x the upstream capacity leaves interactive requests with no 429s and a queue p99 under 50 ms', async () => {
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  const call = async (lane: 'batch' | 'interactive') => {
    try {
      const { response } = await openai.chat.completions
        .create({ model: 'cap/m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }, { headers: { 'x-breakwater-priority': lane } })
        .withResponse();
      return { status: 200, id: response.headers.get('x-breakwater-request-id')! };
    } catch (error) {
      return { status: (error as InstanceType<typeof OpenAI.APIError>).status ?? 0, id: '' };
    }
  };
  let flooding = true;
  const batchStatuses: number[] = [];
  const flood = Array.from({ length: CAPACITY * 10 }, async () => {
    while (flooding) batchStatuses.push((await call('batch')).status);
  });
  const interactive: Array<{ status: number; id: string }> = [];
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      for (let i = 0; i < 25; i++) interactive.push(await call('interactive'));
    }),
  );
  flooding = false;
  await Promise.all(flood);

  assert.deepEqual(interactive.filter((r) => r.status !== 200).map((r) => r.status), [], 'interactive requests are never refused');
  assert.equal(upstream.stats.rejected, 0, 'the upstream never had to 429');
  assert.ok(upstream.stats.peak <= CAPACITY);
  assert.ok(batchStatuses.filter((s) => s === 200).length > 0, 'batch still makes progress');
  assert.deepEqual([...new Set(batchStatuses)].filter((s) => s !== 200), [], 'batch waits in its queue rather than failing');

  await gateway.app.ledger.flush();
  const records = await Promise.all(interactive.map((r) => gateway.app.stores.ledger.getRequest(r.id)));
  const waits = records.map((r) => r?.queueMs ?? 0);
  assert.ok(records.every((r) => r?.lane === 'interactive'));
  assert.ok(percentile(waits, 99) < 50, `interactive queue wait p99 ${percentile(waits, 99)} ms`);
  const batchRecords = (await gateway.app.stores.ledger.listRequests({ limit: 10_000 })).filter((r) => r.lane === 'batch');
  assert.ok(batchRecords.some((r) => (r.queueMs ?? 0) > 0), 'batch requests did queue');
});

test('batch waits at most lanes.batchQueueMs, then gets 429 queue_timeout', async () => {
  const short = await startTestGateway({
    configYaml: `
providers:
  cap: { kind: openai-compatible, baseUrl: "${upstream.url}/v1", apiKey: k, models: [m] }
routes:
  defaults: { streamUpstream: false }
lanes:
  batchQueueMs: 5
  capacity:
    cap/m: { concurrency: 2 }
`,
  });
  try {
    const openai = new OpenAI({ baseURL: `${short.url}/v1`, apiKey: short.key, maxRetries: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => openai.chat.completions.create({ model: 'cap/m', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-breakwater-priority': 'batch' } })),
    );
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as InstanceType<typeof OpenAI.APIError>);
    assert.ok(refused.length >= 4, `${refused.length} refused`);
    assert.ok(refused.every((e) => e.status === 429 && e.code === 'queue_timeout'));
  } finally {
    await short.close();
  }
});
