import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { chatText, readSse, type ParsedEvent } from './helpers/sse-client.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { VirtualPump } from './helpers/virtual-pump.js';

// The simulated model runs on a manual clock at its real pace (sim-fast: ~150 ms to the first
// token, ~120 tokens/s), so the test decides when tokens are produced: a background pump moves
// virtual time 10 ms per turn of real I/O while a stream should progress, and stops to hold it.
// (test/helpers/virtual-pump.ts)
const GRACE_MS = 5_000;
let clock: ManualClock;
let gateway: TestGateway;
let virtual: VirtualPump;

before(async () => {
  clock = new ManualClock(Date.UTC(2026, 10, 27));
  virtual = new VirtualPump(clock);
  gateway = await startTestGateway({
    clock,
    timeScale: 1,
    configYaml: `stream: { detachGraceMs: ${GRACE_MS}, earlyCommitMs: 60000, heartbeatMs: 60000, maxSubscribers: 2 }\n`,
  });
});
after(() => gateway?.close());

const pump = () => virtual.start();

const PROMPT = { model: 'sim-fast', stream: true, max_tokens: 400, messages: [{ role: 'user', content: 'Write 300 words on how breakwaters protect a harbour.' }] };
// 10 tokens/s: a long answer outlasts the grace period, so only the grace can end it early.
const SLOW = { ...PROMPT, model: 'sim-slow' };

function post(body: unknown = PROMPT, key = gateway.key, headers: Record<string, string> = { 'x-breakwater-resumable': 'true' }) {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function resume(id: string, headers: Record<string, string> = {}, query = '', key = gateway.key) {
  return fetch(`${gateway.url}/v1/streams/${id}${query}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
}

const advance = (ms: number) => virtual.advance(ms);

const ids = (events: ParsedEvent[]) => events.map((event) => Number(event.id));

async function referenceText(): Promise<string> {
  const stop = pump();
  try {
    return chatText((await readSse(await post(PROMPT, gateway.key, {}))).events);
  } finally {
    stop();
  }
}

test('a stream cut at event 37 resumes by Last-Event-ID with exactly the missing events, then ends', async () => {
  const reference = await referenceText();
  const stop = pump();
  try {
    const first = await post();
    assert.equal(first.status, 200);
    const id = first.headers.get('x-breakwater-stream-id');
    assert.match(id ?? '', /^strm_[0-9a-f]{32}$/);
    const cut = await readSse(first, (event) => event.id === '37');
    assert.equal(cut.ended, false);
    assert.deepEqual(ids(cut.events), [...Array(38).keys()], 'ids start at 0 and go up by one');

    const rest = await readSse(await resume(id!, { 'last-event-id': '37' }));
    assert.equal(rest.ended, true);
    const all = [...cut.events, ...rest.events];
    assert.deepEqual(ids(all), [...Array(all.length).keys()], 'no gap and no duplicate across the cut');
    assert.ok(all.length > 60, `a long stream (${all.length} events)`);
    assert.equal(all.at(-1)!.data, '[DONE]');
    assert.equal(chatText(all), reference, 'the resumed text is the whole answer, exactly once');
  } finally {
    stop();
  }
});

test('a reconnect while the stream is still running replays, then follows live; ?after= works like Last-Event-ID', async () => {
  const stop = pump();
  const first = await post();
  const id = first.headers.get('x-breakwater-stream-id')!;
  const cut = await readSse(first, (event) => event.id === '5');
  stop();
  // Time is held: nothing new can be produced until the pump restarts, so the replay is exact.
  const resumed = await resume(id, {}, '?after=5');
  assert.equal(resumed.status, 200);
  assert.equal(resumed.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const restart = pump();
  try {
    const rest = await readSse(resumed);
    const all = [...cut.events, ...rest.events];
    assert.deepEqual(ids(all), [...Array(all.length).keys()]);
    assert.equal(all.at(-1)!.data, '[DONE]');
  } finally {
    restart();
  }
});

test('a detached stream keeps generating inside the grace period and is cancelled after it', async () => {
  const stop = pump();
  const first = await post(SLOW);
  const id = first.headers.get('x-breakwater-stream-id')!;
  await readSse(first, (event) => event.id === '3');
  stop();
  await tick();
  const live = gateway.app.streams.get(id);
  assert.ok(live, 'the stream is still live after its client left');
  const seenByClient = live.lastSeq;
  // One millisecond short of the grace: still running. (The pump already moved time a little
  // since the detach, so the boundary is measured from the stream's own timer.)
  await advance(GRACE_MS - 100);
  assert.equal(live.status, 'active');
  assert.ok(live.lastSeq > seenByClient + 10, 'it kept generating with nobody attached');
  await advance(200);
  await live.ended;
  assert.equal(live.status, 'cancelled');
  const replay = await readSse(await resume(id));
  const last = JSON.parse(replay.events.at(-1)!.data) as { error: { code: string } };
  assert.equal(last.error.code, 'cancelled', 'the log ends with the cancel, never a clean [DONE]');
  assert.ok(!replay.events.some((event) => event.data === '[DONE]'));
});

test('reattaching inside the grace period keeps the stream alive', async () => {
  const stop = pump();
  const first = await post(SLOW);
  const id = first.headers.get('x-breakwater-stream-id')!;
  const cut = await readSse(first, (event) => event.id === '2');
  stop();
  await tick();
  await advance(GRACE_MS - 500);
  const live = gateway.app.streams.get(id)!;
  assert.equal(live.status, 'active');
  const resumed = resume(id, { 'last-event-id': '2' });
  const restart = pump();
  try {
    const rest = await readSse(await resumed);
    assert.equal(live.status, 'completed');
    assert.deepEqual(ids([...cut.events, ...rest.events]), [...Array(cut.events.length + rest.events.length).keys()]);
  } finally {
    restart();
  }
});

test('cancel stops the upstream, keeps the partial output, is idempotent and bills what was produced', async () => {
  const stop = pump();
  const first = await post();
  const id = first.headers.get('x-breakwater-stream-id')!;
  const requestId = first.headers.get('x-breakwater-request-id');
  const cut = await readSse(first, (event) => event.id === '4');
  stop();
  const cancel = () => fetch(`${gateway.url}/v1/streams/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${gateway.key}` } });
  const once = await cancel();
  assert.equal(once.status, 200);
  assert.deepEqual(await once.json(), { id, object: 'stream', status: 'cancelled' });
  const twice = await cancel();
  assert.deepEqual(await twice.json(), { id, object: 'stream', status: 'cancelled' });

  const replay = await readSse(await resume(id));
  assert.ok(replay.events.length >= cut.events.length, 'the partial output is kept');
  assert.equal(chatText(replay.events).startsWith(chatText(cut.events)), true);
  assert.equal((JSON.parse(replay.events.at(-1)!.data) as { error: { code: string } }).error.code, 'cancelled');

  await gateway.app.ledger.flush();
  const record = await gateway.app.stores.ledger.getRequest(requestId!);
  assert.ok(record, 'the cancelled request is in the ledger');
  assert.equal(record.status, 499);
  assert.equal(record.errorCode, 'cancelled');
  assert.ok(record.outputTokens > 0, `partial output billed (${record.outputTokens} tokens)`);
});

test('another tenant cannot read or cancel a stream; bad cursors get 400', async () => {
  const stop = pump();
  try {
    const first = await post();
    const id = first.headers.get('x-breakwater-stream-id')!;
    await readSse(first);
    const other = await gateway.app.keys.create({ name: 'other-tenant', kind: 'virtual' });
    const read = await resume(id, {}, '', other.key);
    assert.equal(read.status, 404);
    assert.equal(((await read.json()) as { error: { code: string } }).error.code, 'not_found');
    const cancel = await fetch(`${gateway.url}/v1/streams/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${other.key}` } });
    assert.equal(cancel.status, 404);
    assert.equal((await resume('strm_nope')).status, 404);
    for (const [headers, query, param] of [
      [{ 'last-event-id': 'abc' }, '', 'Last-Event-ID'],
      [{}, '?after=1.5', 'after'],
      [{}, '?after=-7', 'after'],
    ] as const) {
      const bad = await resume(id, headers, query);
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { error: { param: string } }).error.param, param);
    }
    assert.equal((await resume(id)).status, 200, 'the owner still reads it');
  } finally {
    stop();
  }
});

test('a failure before the first token keeps its HTTP status on a resumable request', async () => {
  const stop = pump();
  try {
    const res = await post({ ...PROMPT, model: 'no-such-model' });
    assert.equal(res.status, 404);
    const failing = await post(PROMPT, gateway.key, { 'x-breakwater-resumable': 'true', 'x-sim-fault': '400' });
    assert.equal(failing.status, 400);
  } finally {
    stop();
  }
});

test('a live stream takes at most stream.maxSubscribers readers; the next gets 429 and may retry', async () => {
  const stop = pump();
  const first = await post(SLOW);
  const id = first.headers.get('x-breakwater-stream-id')!;
  await readSse(first, (event) => event.id === '1').catch(() => {});
  stop();
  const live = gateway.app.streams.get(id)!;
  while (live.subscribers > 0) await tick(); // the server has seen the creator leave
  // The creator left; two readers attach, a third is refused.
  const one = await resume(id);
  const two = await resume(id);
  assert.equal(one.status, 200);
  assert.equal(two.status, 200);
  const three = await resume(id);
  assert.equal(three.status, 429);
  assert.equal(three.headers.get('retry-after'), '1');
  await one.body!.cancel();
  await two.body!.cancel();
  await fetch(`${gateway.url}/v1/streams/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${gateway.key}` } });
});
