import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, beforeEach, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import type { SimAdapter } from '../src/sim/sim-adapter.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { withVirtualTime } from './helpers/virtual-time.js';

let clock: ManualClock;
let gateway: TestGateway;
let openai: OpenAI;
let sim: SimAdapter;

before(async () => {
  clock = new ManualClock(1_700_000_000_000);
  gateway = await startTestGateway({ clock, configYaml: 'models:\n  solo: sim/sim-fast\n' });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  sim = gateway.app.providers.adapter('sim') as SimAdapter;
});

after(async () => {
  await gateway?.close();
});

beforeEach(() => {
  sim.engine.clearFaults();
  sim.clearJournal();
});

const ask = (content: string) => ({ model: 'solo', messages: [{ role: 'user' as const, content }] });

async function billedRecords(ids: string[]): Promise<number> {
  await gateway.app.ledger.flush();
  let count = 0;
  for (const id of ids) if (await gateway.app.stores.ledger.getRequest(id)) count++;
  return count;
}

test('a completed repeat replays the stored answer without a second generation or charge', async () => {
  const first = await withVirtualTime(clock, openai.chat.completions.create(ask('idempotent one'), { headers: { 'Idempotency-Key': 'key-1' } }).withResponse());
  const second = await withVirtualTime(clock, openai.chat.completions.create(ask('idempotent one'), { headers: { 'Idempotency-Key': 'key-1' } }).withResponse());
  assert.equal(first.response.headers.get('x-breakwater-idempotent-replay'), null);
  assert.equal(second.response.headers.get('x-breakwater-idempotent-replay'), 'true');
  assert.equal(second.data.choices[0]!.message.content, first.data.choices[0]!.message.content);
  assert.equal(second.response.headers.get('x-breakwater-served-by'), 'sim/sim-fast');
  assert.equal(sim.getJournal().length, 1);
  const ids = [first.response.headers.get('x-breakwater-request-id')!, second.response.headers.get('x-breakwater-request-id')!];
  assert.equal(await billedRecords(ids), 1, 'only the generation is billed');
});

test('the same key with a different body is a 409', async () => {
  await withVirtualTime(clock, openai.chat.completions.create(ask('body A'), { headers: { 'Idempotency-Key': 'key-2' } }));
  const error = await withVirtualTime(
    clock,
    openai.chat.completions.create(ask('body B'), { headers: { 'Idempotency-Key': 'key-2' } }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.ok(error instanceof OpenAI.ConflictError);
  assert.equal((error.error as { code: string }).code, 'idempotency_conflict');
  assert.equal(sim.getJournal().length, 1);
});

test('a failure is not stored: the retry generates again', async () => {
  sim.engine.setFaults('content-policy:times=1');
  await assert.rejects(withVirtualTime(clock, openai.chat.completions.create(ask('fails first'), { headers: { 'Idempotency-Key': 'key-3' } })));
  const retry = await withVirtualTime(clock, openai.chat.completions.create(ask('fails first'), { headers: { 'Idempotency-Key': 'key-3' } }).withResponse());
  assert.equal(retry.response.headers.get('x-breakwater-idempotent-replay'), null);
  assert.equal(sim.getJournal().length, 2);
});

test('a client that quits at 2 s of a 5 s generation and retries gets it: one upstream call, one charge', async () => {
  sim.engine.setFaults('slow-first-token:ms=5000');
  const started = clock.now();
  const wallStart = Date.now();
  const controller = new AbortController();
  const quitter = openai.chat.completions.create(ask('long job'), { headers: { 'Idempotency-Key': 'key-4' }, signal: controller.signal }).catch((e: unknown) => e);
  while (sim.getJournal().length === 0) await tick();
  await clock.advance(2000);
  controller.abort();
  assert.ok((await quitter) instanceof Error, 'the first client gave up');
  for (let i = 0; i < 20; i++) await tick();

  const retry = await withVirtualTime(clock, openai.chat.completions.create(ask('long job'), { headers: { 'Idempotency-Key': 'key-4' } }).withResponse());
  assert.equal(retry.response.headers.get('x-breakwater-idempotent-replay'), 'true');
  assert.ok(retry.data.choices[0]!.message.content);
  assert.ok(clock.now() - started >= 5000, 'the retry got the answer of the generation still running');
  assert.equal(sim.getJournal().length, 1, 'one upstream call');
  await gateway.app.ledger.flush();
  const records = await gateway.app.stores.ledger.listRequests({ limit: 50, since: wallStart });
  assert.equal(records.filter((r) => r.status === 200 && r.outputTokens > 0).length, 1, 'one charge');
});

test('concurrent streamed duplicates share one generation and each gets the whole text', async () => {
  const stream = (signalText: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json', 'idempotency-key': 'key-5' },
      body: JSON.stringify({ ...ask(signalText), stream: true }),
    }).then(async (res) => ({ replay: res.headers.get('x-breakwater-idempotent-replay'), text: await res.text() }));
  const [a, b] = await withVirtualTime(clock, Promise.all([stream('shared stream'), stream('shared stream')]));
  const textOf = (raw: string) =>
    raw
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => (JSON.parse(line.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
  assert.ok(textOf(a.text).length > 0);
  assert.equal(textOf(a.text), textOf(b.text));
  assert.ok(a.text.includes('data: [DONE]') && b.text.includes('data: [DONE]'));
  assert.equal(sim.getJournal().length, 1);
  assert.deepEqual([a.replay, b.replay].sort(), ['true', null].sort());
});
