import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { flushMicrotasks, ManualClock } from '../src/core/clock.js';
import { BreakwaterError } from '../src/core/errors.js';
import {
  IdempotencyCoordinator,
  idempotencyScope,
  requestHash,
  validateIdempotencyKey,
  type IdempotentAnswer,
  type IdempotentRun,
} from '../src/gateway/idempotency.js';
import type { IdempotencyStore, Stores } from '../src/store/interfaces.js';
import { createMemoryStores } from '../src/store/memory-stores.js';
import { openSqliteStores } from '../src/store/sqlite-stores.js';

const HOUR = 3_600_000;
const POLL_MS = 100;
const root = mkdtempSync(join(tmpdir(), 'bw-idempotency-'));
const opened: Stores[] = [];
after(async () => {
  await Promise.all(opened.map((stores) => stores.close()));
  rmSync(root, { recursive: true, force: true });
});

const HASH = requestHash({ dialect: 'openai', path: '/v1/chat/completions', body: { model: 'sim-fast', messages: [] } });
const OTHER_HASH = requestHash({ dialect: 'openai', path: '/v1/chat/completions', body: { model: 'sim-smart', messages: [] } });
const ANSWER: IdempotentAnswer = {
  status: 200,
  body: { id: 'chatcmpl_1', choices: [{ message: { role: 'assistant', content: 'hi' } }] },
  headers: { 'X-Breakwater-Served-By': 'sim/sim-fast', 'set-cookie': 'secret=1' },
};

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Tracks whether a promise settled, without letting a rejection go unhandled. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** An `execute` that counts its calls and answers with whatever `next` gives. */
function generator(next: () => Promise<IdempotentAnswer> = async () => ANSWER) {
  const calls = { count: 0 };
  return { calls, execute: () => (calls.count++, next()) };
}

function setup(options: { store?: IdempotencyStore; clock?: ManualClock; leaseMs?: number } = {}) {
  const store = options.store ?? createMemoryStores().idempotency;
  const clock = options.clock ?? new ManualClock(1_000);
  const coordinator = new IdempotencyCoordinator(store, { ttlMs: HOUR, clock, pollMs: POLL_MS, leaseMs: options.leaseMs });
  return { store, clock, coordinator };
}

function request(execute: IdempotentRun['execute'], overrides: Partial<IdempotentRun> = {}): IdempotentRun {
  return { scope: 'key:key_1', key: 'idem-1', requestHash: HASH, signal: new AbortController().signal, execute, ...overrides };
}

const replayHeaders = { 'x-breakwater-served-by': 'sim/sim-fast', 'x-breakwater-idempotent-replay': 'true' };

describe('idempotent completions in one process (SPEC UP-8)', () => {
  it('generates a new key once, then replays the stored answer and meta headers without executing', async () => {
    const { coordinator, store } = setup();
    const gen = generator();
    const first = await coordinator.run(request(gen.execute));
    assert.deepEqual(first, { replay: false, ...ANSWER });
    const second = await coordinator.run(request(gen.execute));
    assert.deepEqual(second, { replay: true, status: 200, body: ANSWER.body, headers: replayHeaders });
    assert.equal(gen.calls.count, 1);
    assert.equal((await store.get('key:key_1', 'idem-1', 1_000))?.body, JSON.stringify(ANSWER.body));
  });

  it('attaches concurrent duplicates to the running generation: one execute, the others marked replay', async () => {
    const { coordinator, clock } = setup();
    const upstream = deferred<IdempotentAnswer>();
    const gen = generator(() => upstream.promise);
    const runs = [coordinator.run(request(gen.execute)), coordinator.run(request(gen.execute)), coordinator.run(request(gen.execute))];
    await flushMicrotasks();
    assert.equal(clock.pending, 0, 'duplicates in this process attach instead of polling the store');
    upstream.resolve(ANSWER);
    const [first, second, third] = await Promise.all(runs);
    assert.equal(gen.calls.count, 1);
    assert.equal(first!.replay, false);
    assert.deepEqual(second, { replay: true, status: 200, body: ANSWER.body, headers: replayHeaders });
    assert.deepEqual(third, second);
  });

  it('stores no failure: the error reaches every attached caller and the retry generates again', async () => {
    const { coordinator, store } = setup();
    const upstream = deferred<IdempotentAnswer>();
    const failing = generator(() => upstream.promise);
    const runs = [coordinator.run(request(failing.execute)), coordinator.run(request(failing.execute))];
    await flushMicrotasks();
    upstream.reject(new BreakwaterError('upstream_error', 'the upstream broke'));
    for (const run of runs) await assert.rejects(run, { code: 'upstream_error' });
    assert.equal(failing.calls.count, 1);
    assert.equal(await store.get('key:key_1', 'idem-1', 1_000), undefined);
    const retry = generator();
    assert.equal((await coordinator.run(request(retry.execute))).replay, false);
    assert.equal(retry.calls.count, 1);
  });

  it('stores only 2xx answers: a non-2xx answer goes back once and the retry generates again', async () => {
    const { coordinator } = setup();
    const gen = generator(async () => ({ status: 502, body: { error: { code: 'upstream_error' } } }));
    assert.equal((await coordinator.run(request(gen.execute))).status, 502);
    assert.equal((await coordinator.run(request(gen.execute))).replay, false);
    assert.equal(gen.calls.count, 2);
  });

  it('answers 409 idempotency_conflict to another body under the same key, in flight and completed', async () => {
    const { coordinator } = setup();
    const upstream = deferred<IdempotentAnswer>();
    const first = coordinator.run(request(() => upstream.promise));
    await flushMicrotasks();
    const isConflict = (error: unknown) => {
      assert.ok(error instanceof BreakwaterError);
      assert.equal(error.code, 'idempotency_conflict');
      assert.equal(error.status, 409);
      assert.equal(error.param, 'Idempotency-Key');
      assert.match(error.message, /Idempotency-Key 'idem-1' was used with a different request body/);
      return true;
    };
    const other = generator();
    await assert.rejects(coordinator.run(request(other.execute, { requestHash: OTHER_HASH })), isConflict);
    upstream.resolve(ANSWER);
    await first;
    await assert.rejects(coordinator.run(request(other.execute, { requestHash: OTHER_HASH })), isConflict);
    assert.equal(other.calls.count, 0);
    assert.equal((await coordinator.run(request(other.execute, { scope: 'key:key_2', requestHash: OTHER_HASH }))).replay, false);
  });

  it('replays until the TTL after completion ends, then generates again', async () => {
    const { coordinator, clock } = setup();
    const upstream = deferred<IdempotentAnswer>();
    const gen = generator(() => upstream.promise);
    const first = coordinator.run(request(gen.execute));
    await clock.advance(500);
    upstream.resolve(ANSWER);
    await first;
    const again = generator();
    await clock.set(1_500 + HOUR - 1);
    assert.equal((await coordinator.run(request(again.execute))).replay, true);
    await clock.advance(1);
    assert.equal((await coordinator.run(request(again.execute))).replay, false);
    assert.equal(again.calls.count, 1);
  });

  it('keeps generating when the first caller leaves; a retry attaches, a later one replays: one execute (one charge)', async () => {
    const { coordinator, store, clock } = setup();
    const upstream = deferred<IdempotentAnswer>();
    const gen = generator(() => upstream.promise);
    const client = new AbortController();
    const first = coordinator.run(request(gen.execute, { signal: client.signal }));
    await clock.advance(2_000);
    client.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const retry = coordinator.run(request(gen.execute));
    await clock.advance(3_000);
    upstream.resolve(ANSWER);
    assert.deepEqual(await retry, { replay: true, status: 200, body: ANSWER.body, headers: replayHeaders });
    assert.equal((await store.get('key:key_1', 'idem-1', clock.now()))?.state, 'completed');
    assert.equal((await coordinator.run(request(gen.execute))).replay, true);
    assert.equal(gen.calls.count, 1);
  });

  it('stores the answer even when every caller left before it finished', async () => {
    const { coordinator, store } = setup();
    const upstream = deferred<IdempotentAnswer>();
    const gen = generator(() => upstream.promise);
    const client = new AbortController();
    const first = coordinator.run(request(gen.execute, { signal: client.signal }));
    await flushMicrotasks();
    client.abort();
    await assert.rejects(first, { name: 'AbortError' });
    upstream.resolve(ANSWER);
    await flushMicrotasks();
    const fresh = setup({ store }).coordinator;
    assert.equal((await fresh.run(request(gen.execute))).replay, true);
    assert.equal(gen.calls.count, 1);
  });

  it('refuses to start for a caller already gone', async () => {
    const { coordinator, store } = setup();
    const gen = generator();
    await assert.rejects(coordinator.run(request(gen.execute, { signal: AbortSignal.abort() })), { name: 'AbortError' });
    assert.equal(gen.calls.count, 0);
    assert.equal(await store.get('key:key_1', 'idem-1', 1_000), undefined);
  });
});

describe('idempotent completions across processes (SPEC UP-8)', () => {
  let counter = 0;
  /** Two coordinators on two connections to one SQLite file: two gateway processes. */
  function twoProcesses(leaseMs?: number) {
    const path = join(root, `shared-${++counter}.db`);
    const clock = new ManualClock(0);
    const stores = [openSqliteStores({ path }), openSqliteStores({ path })];
    opened.push(...stores);
    return {
      clock,
      a: setup({ store: stores[0]!.idempotency, clock, leaseMs }).coordinator,
      b: setup({ store: stores[1]!.idempotency, clock, leaseMs }).coordinator,
    };
  }

  it('makes the second process poll until the first completes, then replay without executing', async () => {
    const { clock, a, b } = twoProcesses();
    const upstream = deferred<IdempotentAnswer>();
    const first = a.run(request(() => upstream.promise));
    await flushMicrotasks();
    const other = generator();
    const second = b.run(request(other.execute));
    const waiting = track(second);
    await flushMicrotasks();
    assert.equal(clock.pending, 1);
    upstream.resolve(ANSWER);
    assert.equal((await first).replay, false);
    await clock.advance(POLL_MS - 1);
    assert.equal(waiting.settled, false);
    await clock.advance(1);
    assert.deepEqual(await second, { replay: true, status: 200, body: ANSWER.body, headers: replayHeaders });
    assert.equal(other.calls.count, 0);
  });

  it('lets the waiting process generate once the first abandons after a failure', async () => {
    const { clock, a, b } = twoProcesses();
    const upstream = deferred<IdempotentAnswer>();
    const first = a.run(request(() => upstream.promise));
    await flushMicrotasks();
    const other = generator();
    const second = b.run(request(other.execute));
    await flushMicrotasks();
    upstream.reject(new BreakwaterError('upstream_timeout', 'too slow'));
    await assert.rejects(first, { code: 'upstream_timeout' });
    await clock.advance(POLL_MS);
    assert.equal((await second).replay, false);
    assert.equal(other.calls.count, 1);
  });

  it('takes over a key whose owner died exactly when its lease ends', async () => {
    const { clock, a, b } = twoProcesses(1_000);
    void a.run(request(() => new Promise<IdempotentAnswer>(() => {})));
    await flushMicrotasks();
    const other = generator();
    const second = b.run(request(other.execute));
    await clock.advance(999);
    assert.equal(other.calls.count, 0);
    await clock.advance(1);
    assert.equal((await second).replay, false);
    assert.equal(other.calls.count, 1);
  });

  it('stops polling when the waiting caller leaves, while a second waiter keeps its wait', async () => {
    const { clock, a, b } = twoProcesses();
    const upstream = deferred<IdempotentAnswer>();
    const first = a.run(request(() => upstream.promise));
    await flushMicrotasks();
    const other = generator();
    const leaving = new AbortController();
    const quitter = b.run(request(other.execute, { signal: leaving.signal }));
    const stayer = b.run(request(other.execute));
    await flushMicrotasks();
    leaving.abort();
    await assert.rejects(quitter, { name: 'AbortError' });
    await clock.advance(POLL_MS);
    assert.equal(clock.pending, 1);
    upstream.resolve(ANSWER);
    await first;
    await clock.advance(POLL_MS);
    assert.equal((await stayer).replay, true);
    assert.equal(other.calls.count, 0);
  });

  it('leaves no poll running once every waiter has gone', async () => {
    const { clock, a, b } = twoProcesses();
    void a.run(request(() => new Promise<IdempotentAnswer>(() => {})));
    await flushMicrotasks();
    const leaving = new AbortController();
    const quitter = b.run(request(generator().execute, { signal: leaving.signal }));
    await flushMicrotasks();
    assert.equal(clock.pending, 1);
    leaving.abort();
    await assert.rejects(quitter, { name: 'AbortError' });
    await flushMicrotasks();
    assert.equal(clock.pending, 0);
  });
});

describe('idempotency helpers', () => {
  it('hashes the parsed body canonically with dialect and path', () => {
    const body = { model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }], temperature: 0.5 };
    const reordered = { temperature: 0.5, messages: [{ content: 'hi', role: 'user' }], model: 'sim-fast', user: undefined };
    const base = { dialect: 'openai', path: '/v1/chat/completions', body };
    assert.match(requestHash(base), /^[0-9a-f]{64}$/);
    assert.equal(requestHash({ ...base, body: reordered }), requestHash(base));
    assert.notEqual(requestHash({ ...base, dialect: 'anthropic' }), requestHash(base));
    assert.notEqual(requestHash({ ...base, path: '/v1/messages' }), requestHash(base));
    assert.notEqual(requestHash({ ...base, body: { ...body, temperature: 0.6 } }), requestHash(base));
    const twoMessages = { ...body, messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] };
    const swapped = { ...body, messages: [{ role: 'user', content: 'b' }, { role: 'user', content: 'a' }] };
    assert.notEqual(requestHash({ ...base, body: twoMessages }), requestHash({ ...base, body: swapped }));
  });

  it('accepts 1-255 visible ASCII characters and refuses anything else with param Idempotency-Key', () => {
    assert.equal(validateIdempotencyKey(undefined), undefined);
    assert.equal(validateIdempotencyKey('req-2024_01:abc/DEF'), 'req-2024_01:abc/DEF');
    assert.equal(validateIdempotencyKey('k'.repeat(255)), 'k'.repeat(255));
    for (const bad of ['', 'k'.repeat(256), 'two words', 'a, b', 'caf\u00e9', 'tab\there']) {
      assert.throws(() => validateIdempotencyKey(bad), (error: unknown) => {
        assert.ok(error instanceof BreakwaterError);
        assert.equal(error.code, 'invalid_request');
        assert.equal(error.param, 'Idempotency-Key');
        return true;
      }, JSON.stringify(bad));
    }
  });

  it('scopes keys to the tenant, for now the key id', () => {
    assert.equal(idempotencyScope({ id: 'key_1' }), 'key:key_1');
    assert.notEqual(idempotencyScope({ id: 'key_1' }), idempotencyScope({ id: 'key_2' }));
  });
});
