import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { defineAgent } from '../src/runs/define-agent.js';
import { createFakeEffectLedger, createFakePaymentTools } from '../src/runs/fake-tools.js';
import { dataOf, runClient } from './helpers/run-client.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// An OpenAI-compatible upstream that streams a word every 20 ms and never finishes, and notes when
// the gateway closes its socket.
let upstream: Server;
let closedAt: number | undefined;
let firstChunkAt: number | undefined;

function startUpstream(): Promise<string> {
  upstream = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (text: string) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'slow', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
    const timer = setInterval(() => {
      firstChunkAt ??= Date.now();
      res.write(chunk('word '));
    }, 20);
    res.on('close', () => {
      clearInterval(timer);
      closedAt = Date.now();
    });
  });
  return new Promise((resolve) => upstream.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`)));
}

const ledger = createFakeEffectLedger();
let gw: TestGateway;

before(async () => {
  const base = await startUpstream();
  const agents = [
    defineAgent({
      name: 'talker',
      tools: createFakePaymentTools(ledger),
      async run(ctx) {
        await ctx.tool('payment.charge', { orderId: 'o-9', amountCents: 1200 });
        await ctx.llm({ model: 'slow', messages: [{ role: 'user', content: 'talk forever' }] });
        await ctx.step('never', () => 'unreachable');
      },
    }),
    defineAgent({
      name: 'abandonable',
      onDetach: 'cancel',
      async run(ctx) {
        await ctx.step('long', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
      },
    }),
  ];
  const configYaml = [
    'providers:',
    `  up: { kind: openai-compatible, baseUrl: "${base}", apiKey: test, models: [slow] }`,
    'models:',
    '  slow: up/slow',
    'runs: { pollMs: 10, detachGraceMs: 200 }',
  ].join('\n');
  gw = await startTestGateway({ agents, configYaml });
});

after(async () => {
  await gw.close();
  upstream.close();
  ledger.close();
});

it('cancel during an LLM call aborts the upstream within 1 s and lists the committed effects with the partial output', async () => {
  const client = runClient(gw.url, gw.key);
  const run = await client.create('talker');
  await client.events(run.id, { stop: (event) => event.event === 'llm.delta' });
  const cancelledAt = Date.now();
  assert.equal((await client.post(`/v1/runs/${run.id}/cancel`)).status, 200);
  const done = await client.finish(run.id);
  assert.equal(done.status, 'cancelled');
  assert.ok(closedAt !== undefined && closedAt - cancelledAt < 1_000, `upstream closed ${closedAt! - cancelledAt} ms after the cancel`);
  const events = (await client.events(run.id)).events;
  const cancelled = dataOf(events, 'run.cancelled')[0];
  assert.deepEqual(
    cancelled.effects.map((effect: { tool: string; idempotency_key: string }) => [effect.tool, effect.idempotency_key]),
    [['payment.charge', `${run.id}:0:payment.charge`]],
  );
  assert.equal(cancelled.partial.step, '1:llm');
  assert.match(cancelled.partial.text, /^(word )+$/);
  assert.equal(dataOf(events, 'step.completed').length, 1, 'the LLM step and the next never committed');
  assert.equal(ledger.effects().length, 1);
});

it("cancels a run with the 'cancel' detach policy once nobody watched it for the grace period", async () => {
  const client = runClient(gw.url, gw.key);
  const run = await client.create('abandonable');
  const seen = await client.events(run.id, { stop: (event) => event.event === 'step.started' });
  assert.equal(seen.ended, false, 'the tab closes mid-run');
  // Watching the events again would count as a subscriber: poll the run instead.
  let done = (await client.get(`/v1/runs/${run.id}`)).body;
  for (let polls = 0; done.status === 'running' && polls < 200; polls++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    done = (await client.get(`/v1/runs/${run.id}`)).body;
  }
  assert.equal(done.status, 'cancelled');
  assert.equal(dataOf((await client.events(run.id)).events, 'run.cancelled').length, 1);
  assert.ok(done.ended_at - done.started_at >= 200, 'not before the grace period');
});
