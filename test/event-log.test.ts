import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { after, describe, it, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import type { StreamPart } from '../src/core/types.js';
import type { EventLog, LoggedEvent, StreamAppend, StreamRecord, Stores } from '../src/store/interfaces.js';
import { createMemoryStores } from '../src/store/memory-stores.js';
import { openSqliteStores } from '../src/store/sqlite-stores.js';
import { openScaleOutStores, servicesMissing } from './helpers/services.js';
import { EventLogWriter } from '../src/streaming/event-log-writer.js';
import { StreamHub } from '../src/streaming/stream-hub.js';
import { subscribe, type SubscriberSink } from '../src/streaming/stream-subscription.js';

const root = mkdtempSync(join(tmpdir(), 'bw-events-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

const backends: Array<{ name: string; open: () => Stores | Promise<Stores> }> = [
  { name: 'memory', open: () => createMemoryStores() },
  { name: 'sqlite', open: () => openSqliteStores({ path: join(root, `db-${++counter}.db`) }) },
];
if (!(await servicesMissing())) backends.push({ name: 'postgres+redis', open: () => openScaleOutStores() });

function record(id: string, overrides: Partial<StreamRecord> = {}): StreamRecord {
  return { id, tenant: 'key:k1', kind: 'chat', status: 'active', createdAt: 1_000, expiresAt: Number.MAX_SAFE_INTEGER, meta: '{"dialect":"openai-chat"}', ...overrides };
}

const events = (from: number, count: number): LoggedEvent[] =>
  Array.from({ length: count }, (_, i) => from + i).map((seq) => (seq % 2 === 0 ? { seq, data: `{"n":${seq}}` } : { seq, event: 'delta', data: `line\nbreak ${seq}` }));

for (const backend of backends) {
  describe(`${backend.name} event log passes the conformance suite`, () => {
    it('appends in order across group commits and reads pages after a cursor', async () => {
      const stores = await backend.open();
      after(() => stores.close());
      const log = stores.events;
      await log.createStream(record('s1'));
      await log.createStream(record('s2'));
      await log.append([
        { streamId: 's1', events: events(0, 3) },
        { streamId: 's2', events: events(0, 2) },
      ]);
      await log.append([{ streamId: 's1', events: events(3, 4) }]);
      assert.deepEqual(await log.read('s1', -1, 100), events(0, 7));
      assert.deepEqual(await log.read('s1', 2, 2), events(3, 2), 'a page after the cursor');
      assert.deepEqual(await log.read('s1', 6, 10), [], 'nothing after the head');
      assert.deepEqual(await log.read('s2', -1, 10), events(0, 2), 'streams do not mix');
      assert.deepEqual(await log.read('missing', -1, 10), []);
    });

    it('refuses a repeated sequence number: one producer, ids never reused', async () => {
      const stores = await backend.open();
      after(() => stores.close());
      const log = stores.events;
      await log.createStream(record('s1'));
      await log.append([{ streamId: 's1', events: events(0, 2) }]);
      await assert.rejects(log.append([{ streamId: 's1', events: events(1, 1) }]));
      assert.deepEqual(await log.read('s1', -1, 10), events(0, 2), 'the failed commit wrote nothing');
    });

    it('ends a stream once, lists active ones, and purges expired streams with their events', async () => {
      const stores = await backend.open();
      after(() => stores.close());
      const log = stores.events;
      await log.createStream(record('a'));
      await log.createStream(record('b'));
      await log.append([{ streamId: 'a', events: events(0, 2) }]);
      assert.deepEqual((await log.listActive()).map((r) => r.id).sort(), ['a', 'b']);
      await log.endStream('a', 'completed', 2_000, 5_000);
      await log.endStream('a', 'failed', 3_000, 9_000);
      assert.deepEqual(await log.getStream('a'), record('a', { status: 'completed', endedAt: 2_000, expiresAt: 5_000 }), 'the first end wins');
      assert.deepEqual((await log.listActive()).map((r) => r.id), ['b']);
      assert.equal(await log.purgeExpired(4_999), 0, 'one millisecond before expiry it stays');
      assert.equal(await log.purgeExpired(5_000), 1);
      assert.equal(await log.getStream('a'), undefined);
      assert.deepEqual(await log.read('a', -1, 10), []);
      assert.equal(await log.deleteStream('b'), true);
      assert.equal(await log.deleteStream('b'), false);
    });

    it('stores, replaces, expires and deletes responses', async () => {
      const stores = await backend.open();
      after(() => stores.close());
      const store = stores.responses;
      const base = { id: 'resp_1', tenant: 'key:k1', status: 'queued', body: '{"status":"queued"}', conversation: '[]', createdAt: 1_000, expiresAt: 10_000 };
      await store.putResponse(base);
      await store.putResponse({ ...base, status: 'completed', body: '{"status":"completed"}', expiresAt: 20_000 });
      assert.deepEqual(await store.getResponse('resp_1'), { ...base, status: 'completed', body: '{"status":"completed"}', expiresAt: 20_000 });
      assert.equal(await store.purgeExpiredResponses(19_999), 0);
      assert.equal(await store.purgeExpiredResponses(20_000), 1);
      await store.putResponse(base);
      assert.equal(await store.deleteResponse('resp_1'), true);
      assert.equal(await store.getResponse('resp_1'), undefined);
    });
  });
}

test('the writer group-commits every stream appended in one event-loop turn in one call', async () => {
  const stores = createMemoryStores();
  const calls: StreamAppend[][] = [];
  const log: EventLog = { ...stores.events, append: (batch) => (calls.push(batch), stores.events.append(batch)) };
  for (const id of ['a', 'b', 'c']) await log.createStream(record(id));
  const writer = new EventLogWriter(log);
  const committed: string[] = [];
  for (const id of ['a', 'b', 'c']) writer.enqueue(id, events(0, 2), () => committed.push(id));
  writer.enqueue('a', events(2, 1), () => committed.push('a2'));
  assert.deepEqual(committed, [], 'nothing is visible before the commit');
  await writer.flush();
  assert.equal(calls.length, 1, 'one append for the whole turn');
  assert.deepEqual(committed, ['a', 'b', 'c', 'a2'], 'callbacks in append order');
  assert.deepEqual(await log.read('a', -1, 10), events(0, 3));
});

/** A stream of `count` text parts, each produced only after a call of `release()` (permits add up). */
function gatedParts(count: number) {
  let permits = 0;
  let wake: (() => void) | undefined;
  async function* parts(): AsyncGenerator<StreamPart> {
    yield { type: 'start', id: 'x', model: 'm' };
    for (let i = 0; i < count; i++) {
      while (permits === 0) await new Promise<void>((resolve) => (wake = resolve));
      permits--;
      yield { type: 'text-delta', text: `t${i} ` };
    }
    yield { type: 'finish', finishReason: 'stop' };
  }
  return {
    parts,
    release() {
      permits++;
      wake?.();
    },
  };
}

const plainEncoder = { encode: (part: StreamPart) => (part.type === 'text-delta' ? [{ data: part.text }] : part.type === 'finish' ? [{ data: '[DONE]' }] : []) };

test('a subscriber that stops reading is dropped once it is too far behind; the producer never waits', async () => {
  const stores = createMemoryStores();
  const hub = new StreamHub({ log: stores.events, clock: new ManualClock(0), detachGraceMs: 60_000, retentionMs: 1_000 });
  const source = gatedParts(50);
  const live = await hub.start({ id: 's', tenant: 't', kind: 'chat', meta: {}, encoder: plainEncoder, keepWhenDetached: true, open: async () => ({ parts: source.parts() }) });
  await live.opened.catch(() => {});
  const written: string[] = [];
  const stuck: SubscriberSink = {
    write: (chunk) => (written.push(chunk), false), // a full socket that never drains
    drained: () => new Promise<void>(() => {}),
    signal: new AbortController().signal,
  };
  const outcome = subscribe(hub, 's', -1, stuck, { maxLagEvents: 10 });
  for (let i = 0; i < 50; i++) {
    source.release();
    await tick();
  }
  assert.equal(await outcome, 'lagged');
  assert.ok(written.length <= 3, `the stuck reader got a few writes, not every event (${written.length})`);
  await live.ended;
  assert.equal(live.status, 'completed', 'the producer finished regardless');
  assert.equal((await stores.events.read('s', -1, 100)).length, 51, 'every event is in the log for a resume');
});

test('a subscriber within the lag limit keeps up once its socket drains', async () => {
  const stores = createMemoryStores();
  const hub = new StreamHub({ log: stores.events, clock: new ManualClock(0), detachGraceMs: 60_000, retentionMs: 1_000 });
  const source = gatedParts(30);
  const live = await hub.start({ id: 's', tenant: 't', kind: 'chat', meta: {}, encoder: plainEncoder, keepWhenDetached: true, open: async () => ({ parts: source.parts() }) });
  let text = '';
  const slow: SubscriberSink = {
    write: (chunk) => ((text += chunk), false), // always full, but it drains a turn later
    drained: () => tick().then(() => {}),
    signal: new AbortController().signal,
  };
  const outcome = subscribe(hub, 's', -1, slow, { maxLagEvents: 1_000 });
  for (let i = 0; i < 30; i++) {
    source.release();
    await tick();
  }
  await live.ended;
  assert.equal(await outcome, 'ended');
  assert.equal((text.match(/^id: /gm) ?? []).length, 31, 'every event exactly once');
});
