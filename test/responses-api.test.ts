import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import { ManualClock } from '../src/core/clock.js';
import { startSimServer } from '../src/sim/sim-server.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { VirtualPump } from './helpers/virtual-pump.js';

// The official OpenAI SDK against the real server's /v1/responses. The simulated models run on a
// manual clock at their real pace, so a background response is still running when the test cuts
// and resumes it (see test/helpers/virtual-pump.ts). Instant answers come from a second, real
// `sim serve` upstream registered as an Anthropic and as an OpenAI-compatible provider, which
// also proves translation from the Responses dialect to both upstream wire formats.
const GRACE_MS = 5_000;
let clock: ManualClock;
let virtual: VirtualPump;
let gateway: TestGateway;
let sim: Awaited<ReturnType<typeof startSimServer>>;
let client: OpenAI;

before(async () => {
  sim = await startSimServer({ port: 0, host: '127.0.0.1', seed: 3, timeScale: 0 });
  clock = new ManualClock(Date.UTC(2026, 10, 27));
  virtual = new VirtualPump(clock);
  gateway = await startTestGateway({
    clock,
    timeScale: 1,
    configYaml: `
providers:
  up-anthropic: { kind: anthropic, baseUrl: "${sim.url}/v1", apiKey: test-anthropic-key }
  up-openai: { kind: openai-compatible, baseUrl: "${sim.url}/v1", apiKey: test-openai-key }
models:
  claude-sim: up-anthropic/sim-smart
  gpt-sim: up-openai/sim-smart
stream: { detachGraceMs: ${GRACE_MS}, earlyCommitMs: 60000, heartbeatMs: 60000 }
`,
  });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
});
after(async () => {
  await gateway?.close();
  await sim?.close();
});

const LONG = 'Write 300 words about tides and harbours.';

/** The text of a Response's message items (the SDK adds `output_text` only on create and retrieve). */
function outputText(response: OpenAI.Responses.Response): string {
  let text = '';
  for (const item of response.output) if (item.type === 'message') for (const part of item.content) if (part.type === 'output_text') text += part.text;
  return text;
}

test('a plain response through Anthropic and OpenAI-compatible upstreams, continued with previous_response_id', async () => {
  for (const model of ['claude-sim', 'gpt-sim']) {
    const first = await client.responses.create({ model, input: 'Name three harbours.', instructions: 'Be brief.' });
    assert.equal(first.object, 'response');
    assert.match(first.id, /^resp_/);
    assert.equal(first.status, 'completed');
    assert.equal(first.model, model);
    assert.ok(first.output_text.length > 0);
    assert.ok(first.usage && first.usage.input_tokens > 0 && first.usage.output_tokens > 0);

    const follow = await client.responses.create({ model, input: 'And one more?', previous_response_id: first.id });
    assert.equal(follow.previous_response_id, first.id);
    // The earlier turn (its input and its answer) went upstream again with the new input.
    assert.ok(follow.usage!.input_tokens > first.usage!.output_tokens, `follow-up input ${follow.usage!.input_tokens} tokens carries the history`);
    const stored = await client.responses.retrieve(first.id);
    assert.equal(stored.output_text, first.output_text);
  }
});

test('store: false keeps nothing; background needs store', async () => {
  const unstored = await client.responses.create({ model: 'gpt-sim', input: 'Hi', store: false });
  assert.equal(unstored.status, 'completed');
  await assert.rejects(client.responses.retrieve(unstored.id), (error: unknown) => error instanceof OpenAI.NotFoundError);
  await assert.rejects(client.responses.create({ model: 'gpt-sim', input: 'Hi', store: false, background: true }), (error: unknown) => {
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal((error.error as { param?: string }).param, 'background');
    return true;
  });
});

test('a background response cut at event 20 and resumed with starting_after is rebuilt whole by the SDK', async () => {
  const queued = await client.responses.create({ model: 'sim-fast', input: LONG, background: true });
  assert.equal(queued.status, 'queued');
  assert.equal(queued.background, true);

  const events: Array<{ type: string; sequence_number: number }> = [];
  let text = '';
  await virtual.during(async () => {
    const first = await client.responses.retrieve(queued.id, { stream: true });
    for await (const event of first) {
      events.push(event);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.sequence_number === 20) break;
    }
    const rest = await client.responses.retrieve(queued.id, { stream: true, starting_after: 20 });
    for await (const event of rest) {
      if (event.type === 'response.created') continue; // re-sent first so the SDK can rebuild
      events.push(event);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
  });
  assert.deepEqual(
    events.map((event) => event.sequence_number),
    events.map((_, index) => index),
    'contiguous sequence numbers across the cut',
  );
  assert.equal(events[0]!.type, 'response.created');
  assert.equal(events.at(-1)!.type, 'response.completed');

  const done = await client.responses.retrieve(queued.id);
  assert.equal(done.status, 'completed');
  assert.equal(text, done.output_text, 'the text streamed across the cut is the stored answer, exactly once');

  // The SDK's own stream helper rebuilds the final Response from a resumed stream.
  const rebuilt = await client.responses.stream({ response_id: queued.id, starting_after: 20 }).finalResponse();
  assert.equal(rebuilt.output_text, done.output_text);
});

test('a streamed response survives its client leaving, within the grace period', async () => {
  let id = '';
  await virtual.during(async () => {
    const stream = await client.responses.create({ model: 'sim-fast', input: LONG, stream: true });
    for await (const event of stream) {
      if (event.type === 'response.created') id = event.response.id;
      if (event.sequence_number === 8) break;
    }
  });
  assert.match(id, /^resp_/);
  await tick();
  assert.equal((await client.responses.retrieve(id)).status, 'in_progress');
  await virtual.during(async () => {
    const rest = await client.responses.retrieve(id, { stream: true, starting_after: 8 });
    for await (const event of rest) if (event.type === 'response.completed') break;
  });
  assert.equal((await client.responses.retrieve(id)).status, 'completed');
});

test('a background stream whose client leaves before its first token still completes', async () => {
  // The response id only reaches the client with the first token, so the hub is watched for it.
  const hub = gateway.app.streams;
  const ids: string[] = [];
  const start = hub.start.bind(hub);
  hub.start = async (spec) => {
    const live = await start(spec);
    ids.push(live.id);
    return live;
  };
  try {
    const leaving = new AbortController();
    const request = fetch(`${gateway.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
      // An HTTP upstream: its attempt is what must not hear the client leave.
      body: JSON.stringify({ model: 'gpt-sim', input: LONG, stream: true, background: true }),
      signal: leaving.signal,
    }).catch(() => undefined);
    while (ids.length === 0) await tick();
    leaving.abort();
    await request;
    for (let i = 0; i < 20; i++) await tick();
    const id = ids[0]!;
    await virtual.during(async () => {
      const rest = await client.responses.retrieve(id, { stream: true, starting_after: -1 });
      for await (const event of rest) if (event.type === 'response.completed' || event.type === 'response.failed') break;
    });
    const done = await client.responses.retrieve(id);
    assert.equal(done.status, 'completed', `the upstream call outlived its client (${JSON.stringify(done.error)})`);
    assert.ok(outputText(done).length > 100);
  } finally {
    hub.start = start;
  }
});

test('cancel is idempotent, keeps the partial output and ends the stream as cancelled', async () => {
  const queued = await client.responses.create({ model: 'sim-slow', input: LONG, background: true });
  await virtual.advance(3_000);
  const cancelled = await client.responses.cancel(queued.id);
  assert.equal(cancelled.status, 'cancelled');
  assert.ok(outputText(cancelled).length > 0, 'what was generated before the cancel is kept');
  const again = await client.responses.cancel(queued.id);
  assert.equal(again.status, 'cancelled');
  assert.equal(outputText(again), outputText(cancelled));

  const replay = await client.responses.retrieve(queued.id, { stream: true });
  let last: OpenAI.Responses.ResponseStreamEvent | undefined;
  for await (const event of replay) last = event;
  assert.equal(last?.type, 'response.failed');
  assert.equal(last.response.status, 'cancelled');
});

test('delete forgets a response; other tenants see nothing', async () => {
  const mine = await client.responses.create({ model: 'gpt-sim', input: 'Hello' });
  const other = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: (await gateway.app.keys.create({ name: 'tenant-b', kind: 'virtual' })).key, maxRetries: 0 });
  const isNotFound = (error: unknown) => error instanceof OpenAI.NotFoundError;
  await assert.rejects(other.responses.retrieve(mine.id), isNotFound);
  await assert.rejects(other.responses.cancel(mine.id), isNotFound);
  await assert.rejects(other.responses.delete(mine.id), isNotFound);
  await assert.rejects(other.responses.create({ model: 'gpt-sim', input: 'More', previous_response_id: mine.id }), isNotFound);

  await client.responses.delete(mine.id);
  await assert.rejects(client.responses.retrieve(mine.id), isNotFound);
});

test('a plain response cannot be streamed again; a bad starting_after is a 400', async () => {
  const plain = await client.responses.create({ model: 'gpt-sim', input: 'Hello' });
  await assert.rejects(client.responses.retrieve(plain.id, { stream: true }), (error: unknown) => error instanceof OpenAI.BadRequestError);
  const res = await fetch(`${gateway.url}/v1/responses/${plain.id}?stream=true&starting_after=x`, { headers: { authorization: `Bearer ${gateway.key}` } });
  assert.equal(res.status, 400);
});
