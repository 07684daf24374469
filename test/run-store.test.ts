import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { LoggedEvent, RunLease, RunRecord, Stores, StepRecord } from '../src/store/interfaces.js';
import { createMemoryStores } from '../src/store/memory-stores.js';
import { openPostgresStores } from '../src/store/postgres-open.js';
import { openSqliteStores } from '../src/store/sqlite-stores.js';
import { dropSchema, freshSchema, openScaleOutStores, servicesMissing } from './helpers/services.js';

const root = mkdtempSync(join(tmpdir(), 'bw-runstore-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

const backends: Array<{ name: string; open: () => Stores | Promise<Stores> }> = [
  { name: 'memory', open: () => createMemoryStores() },
  { name: 'sqlite', open: () => openSqliteStores({ path: join(root, `db-${++counter}.db`) }) },
];
// PostgreSQL: a fresh schema per test, dropped when the file ends (fails under BREAKWATER_REQUIRE_SERVICES=1).
if (!(await servicesMissing())) {
  const opened: Array<{ stores: Stores; schema?: string }> = [];
  after(async () => {
    for (const { stores, schema } of opened) {
      await stores.close();
      if (schema) await dropSchema(schema);
    }
  });
  backends.push({
    name: 'postgres',
    async open() {
      const { schema, url } = freshSchema();
      const stores = await openPostgresStores(url);
      opened.push({ stores, schema });
      return stores;
    },
  });
  // With Redis holding the other streams, a run's events must still be read from PostgreSQL.
  backends.push({
    name: 'postgres+redis',
    async open() {
      const stores = await openScaleOutStores();
      opened.push({ stores });
      return stores;
    },
  });
}

function run(id: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    tenant: 'key:k1',
    keyId: 'k1',
    agent: 'a',
    input: '{}',
    status: 'queued',
    requestId: 'req_1',
    limits: '{}',
    createdAt: 1_000,
    updatedAt: 1_000,
    epoch: 0,
    cancelRequested: false,
    steps: 0,
    inputTokens: 0,
    outputTokens: 0,
    costMicros: 0,
    ...overrides,
  };
}

const event = (seq: number, type = 'x'): LoggedEvent => ({ seq, event: type, data: `{"type":"${type}"}` });
const leaseOf = (r: RunRecord): RunLease => ({ runId: r.id, epoch: r.epoch, owner: r.owner! });
const step = (r: RunRecord, slot: string, seq: number): StepRecord => ({
  runId: r.id,
  slot,
  seq,
  key: `${slot}:s`,
  name: 's',
  kind: 'step',
  status: 'completed',
  output: `"out ${slot}"`,
  attempts: 1,
  startedAt: 2_000,
  endedAt: 2_000,
  epoch: r.epoch,
});

for (const backend of backends) {
  describe(`${backend.name} run store passes the conformance suite`, () => {
    it('creates a run with its event stream; an idempotency key returns the same run per tenant only', async () => {
      const stores = await backend.open();
      const first = await stores.runs.createRun(run('run_1', { idempotencyKey: 'k' }), [event(0, 'run.created')]);
      assert.equal(first.created, true);
      const again = await stores.runs.createRun(run('run_2', { idempotencyKey: 'k' }), [event(0, 'run.created')]);
      assert.deepEqual([again.created, again.run.id], [false, 'run_1']);
      const other = await stores.runs.createRun(run('run_3', { idempotencyKey: 'k', tenant: 'key:k2' }), [event(0)]);
      assert.equal(other.created, true, 'another tenant may use the same key');
      assert.equal((await stores.events.getStream('run_1'))?.kind, 'run');
      assert.deepEqual(await stores.events.read('run_1', -1, 10), [event(0, 'run.created')]);
      assert.equal(await stores.runs.getRun('run_2'), undefined, 'nothing of the repeat was stored');
      assert.deepEqual((await stores.runs.listRuns({ tenant: 'key:k1', limit: 10 })).map((r) => r.id), ['run_1']);
      // Admin views: every tenant's runs, and counts by status.
      assert.deepEqual((await stores.runs.listRuns({ limit: 10 })).map((r) => r.id).sort(), ['run_1', 'run_3']);
      assert.deepEqual(await stores.runs.countRunsByStatus(), { queued: 2 });
    });

    it('claims each runnable run once, bumping the epoch; only agents the worker hosts', async () => {
      const stores = await backend.open();
      await stores.runs.createRun(run('run_1'), []);
      await stores.runs.createRun(run('run_2', { agent: 'b' }), []);
      assert.equal(await stores.runs.claimRun({ owner: 'w1', agents: ['zzz'], now: 5_000, leaseMs: 1_000 }), undefined);
      const claimed = await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 5_000, leaseMs: 1_000 });
      assert.deepEqual([claimed?.id, claimed?.epoch, claimed?.status, claimed?.owner, claimed?.leaseExpiresAt], ['run_1', 1, 'running', 'w1', 6_000]);
      assert.equal(await stores.runs.claimRun({ owner: 'w2', agents: ['a'], now: 5_999, leaseMs: 1_000 }), undefined, 'leased at t-1');
      const taken = await stores.runs.claimRun({ owner: 'w2', agents: ['a'], now: 6_000, leaseMs: 1_000 });
      assert.deepEqual([taken?.id, taken?.epoch, taken?.owner], ['run_1', 2, 'w2'], 'an expired lease is taken over at t with a new epoch');
    });

    it('rejects every write of a stale owner: steps, events, waits and the end', async () => {
      const stores = await backend.open();
      await stores.runs.createRun(run('run_1'), [event(0)]);
      const stale = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 5_000, leaseMs: 1_000 }))!;
      assert.equal(await stores.runs.commitStep(leaseOf(stale), { step: step(stale, '0', 0), events: [event(1)] }, 5_100), true);
      const fresh = (await stores.runs.claimRun({ owner: 'w2', agents: ['a'], now: 6_000, leaseMs: 1_000 }))!;
      assert.equal(await stores.runs.commitStep(leaseOf(stale), { step: step(stale, '1', 1), events: [event(2)] }, 6_001), false);
      assert.deepEqual(await stores.runs.appendEvents([{ lease: leaseOf(stale), events: [event(2)] }], 6_001), ['run_1']);
      assert.equal((await stores.runs.renewLease(leaseOf(stale), 6_001, 1_000)).ok, false);
      const wait = { step: { ...step(stale, '1', 1) }, signal: 'go', waiter: '{}', resolvedEvents: [event(2)], parkedEvents: [event(2)] };
      assert.deepEqual(await stores.runs.commitWait(leaseOf(stale), wait, 6_001), { kind: 'lost' });
      assert.equal(await stores.runs.finishRun(leaseOf(stale), { status: 'succeeded', events: [event(2)], eventsExpireAt: 9e12 }, 6_001), false);
      assert.equal(await stores.runs.commitStep(leaseOf(fresh), { step: step(fresh, '1', 1), events: [event(2)] }, 6_002), true);
      assert.deepEqual((await stores.runs.listSteps('run_1')).map((s) => [s.slot, s.epoch]), [['0', 1], ['1', 2]]);
      assert.deepEqual((await stores.events.read('run_1', -1, 10)).map((e) => e.seq), [0, 1, 2]);
      assert.equal(await stores.runs.lastEventSeq('run_1'), 2);
      assert.equal((await stores.runs.getRun('run_1'))?.steps, 2);
    });

    it('parks a wait and frees the lease; a signal wakes it; an early signal is kept and consumed once', async () => {
      const stores = await backend.open();
      await stores.runs.createRun(run('run_1'), []);
      let owned = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 1_000, leaseMs: 1_000 }))!;
      const wait = (r: RunRecord, slot: string, deadline?: number) => ({
        step: step(r, slot, Number(slot)),
        signal: 'go',
        deadline,
        waiter: JSON.stringify({ slot }),
        resolvedEvents: [],
        parkedEvents: [],
      });
      assert.deepEqual(await stores.runs.commitWait(leaseOf(owned), wait(owned, '0', 10_000), 1_000), { kind: 'parked' });
      let parked = (await stores.runs.getRun('run_1'))!;
      assert.deepEqual([parked.status, parked.owner, parked.waitSignal, parked.wakeAt], ['waiting', undefined, 'go', 10_000]);
      assert.equal(await stores.runs.claimRun({ owner: 'w2', agents: ['a'], now: 9_999, leaseMs: 1_000 }), undefined, 'parked until due');
      const delivered = await stores.runs.deliverSignal({ runId: 'run_1', name: 'go', payload: '{"n":1}', at: 2_000 }, {});
      assert.equal(delivered.kind, 'delivered');
      owned = (await stores.runs.claimRun({ owner: 'w2', agents: ['a'], now: 2_000, leaseMs: 1_000 }))!;
      assert.equal(owned.epoch, 2, 'woken by the signal before its deadline');
      assert.deepEqual(await stores.runs.commitWait(leaseOf(owned), wait(owned, '0'), 2_001), { kind: 'resolved', output: '{"kind":"signal","payload":{"n":1}}' });
      // Early: the signal arrives while the run is running; the next wait takes it without parking.
      await stores.runs.deliverSignal({ runId: 'run_1', name: 'go', payload: '2', at: 2_002 }, {});
      assert.deepEqual(await stores.runs.commitWait(leaseOf(owned), wait(owned, '1'), 2_003), { kind: 'resolved', output: '{"kind":"signal","payload":2}' });
      assert.deepEqual(await stores.runs.commitWait(leaseOf(owned), wait(owned, '2', 2_003), 2_003), { kind: 'resolved', output: '{"kind":"timeout"}' }, 'at the deadline: timed out, nothing left to consume');
      parked = (await stores.runs.getRun('run_1'))!;
      assert.equal(parked.steps, 3);
    });

    it('keeps an approval to one decision and refuses one the run is not waiting for', async () => {
      const stores = await backend.open();
      await stores.runs.createRun(run('run_1'), []);
      const options = { unique: true, requireWaiting: true };
      assert.equal((await stores.runs.deliverSignal({ runId: 'run_1', name: 'approval:x', payload: 'true', at: 1 }, options)).kind, 'not_waiting');
      const owned = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 1_000, leaseMs: 1_000 }))!;
      await stores.runs.commitWait(leaseOf(owned), { step: step(owned, '0', 0), signal: 'approval:x', waiter: '{}', resolvedEvents: [], parkedEvents: [] }, 1_000);
      assert.equal((await stores.runs.deliverSignal({ runId: 'run_1', name: 'approval:x', payload: 'true', at: 2 }, options)).kind, 'delivered');
      const repeat = await stores.runs.deliverSignal({ runId: 'run_1', name: 'approval:x', payload: 'false', at: 3 }, options);
      assert.equal(repeat.kind, 'duplicate');
      assert.equal(repeat.kind === 'duplicate' && repeat.existing.payload, 'true', 'the first decision stands');
      assert.equal((await stores.runs.deliverSignal({ runId: 'nope', name: 'x', payload: '1', at: 3 }, {})).kind, 'not_found');
    });

    it('flags cancels; a parked run with one becomes claimable; an ended run is not flagged and reads no signals', async () => {
      const stores = await backend.open();
      await stores.runs.createRun(run('run_1'), []);
      const owned = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 1_000, leaseMs: 1_000 }))!;
      await stores.runs.commitWait(leaseOf(owned), { step: step(owned, '0', 0), signal: 'go', waiter: '{}', resolvedEvents: [], parkedEvents: [] }, 1_000);
      assert.equal(await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 1_001, leaseMs: 1_000 }), undefined);
      assert.equal((await stores.runs.requestCancel('run_1', 1_002))?.cancelRequested, true);
      assert.deepEqual(await stores.runs.cancelRequested(['run_1', 'run_x']), ['run_1']);
      const again = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 1_003, leaseMs: 1_000 }))!;
      assert.equal(again.cancelRequested, true);
      assert.equal(await stores.runs.finishRun(leaseOf(again), { status: 'cancelled', events: [event(0, 'run.cancelled')], eventsExpireAt: 5_000 }, 1_004), true);
      const ended = (await stores.runs.getRun('run_1'))!;
      assert.deepEqual([ended.status, ended.endedAt, ended.owner], ['cancelled', 1_004, undefined]);
      assert.equal((await stores.events.getStream('run_1'))?.status, 'cancelled');
      assert.equal((await stores.runs.deliverSignal({ runId: 'run_1', name: 'go', payload: '1', at: 1_005 }, {})).kind, 'finished');
      assert.equal(await stores.runs.pruneRuns(1_004), 0, 'pruned only after it ended');
      assert.equal(await stores.runs.pruneRuns(1_005), 1);
      assert.equal(await stores.runs.getRun('run_1'), undefined);
    });
  });
}

for (const backend of backends) {
  it(`${backend.name}: concurrent claimers take each runnable run exactly once`, async () => {
    const stores = await backend.open();
    const ids = Array.from({ length: 24 }, (_, i) => `run_c${i}`);
    for (const id of ids) await stores.runs.createRun(run(id), []);
    const claimer = async (owner: string) => {
      const mine: string[] = [];
      for (let r = await stores.runs.claimRun({ owner, agents: ['a'], now: 2_000, leaseMs: 60_000 }); r; r = await stores.runs.claimRun({ owner, agents: ['a'], now: 2_000, leaseMs: 60_000 })) {
        mine.push(r.id);
      }
      return mine;
    };
    const claimed = (await Promise.all(['w1', 'w2', 'w3', 'w4', 'w5', 'w6'].map(claimer))).flat();
    assert.deepEqual([...claimed].sort(), [...ids].sort(), 'every run once, none twice');
  });
}

for (const backend of backends) {
  it(`${backend.name}: a step commits its effect and usage with it; a step without one records none`, async () => {
    const stores = await backend.open();
    await stores.runs.createRun(run('run_e'), []);
    const owned = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 2_000, leaseMs: 1_000 }))!;
    const effect = { runId: 'run_e', stepKey: '0:s', tool: 'payment.charge', idempotencyKey: 'run_e:0:payment.charge', args: '{"a":1}', result: '{"ok":true}', at: 2_001 };
    const usage = { inputTokens: 10, outputTokens: 4, costMicros: 7 };
    assert.equal(await stores.runs.commitStep(leaseOf(owned), { step: step(owned, '0', 0), effect, usage, events: [event(0), event(1)] }, 2_001), true);
    assert.equal(await stores.runs.commitStep(leaseOf(owned), { step: step(owned, '1', 1), events: [] }, 2_002), true);
    assert.deepEqual(await stores.runs.listEffects('run_e'), [effect]);
    const after = (await stores.runs.getRun('run_e'))!;
    assert.deepEqual([after.steps, after.inputTokens, after.outputTokens, after.costMicros], [2, 10, 4, 7]);
    assert.deepEqual((await stores.runs.listSteps('run_e')).map((s) => [s.slot, s.output]), [['0', '"out 0"'], ['1', '"out 1"']]);
    await assert.rejects(stores.runs.commitStep(leaseOf(owned), { step: step(owned, '1', 2), events: [event(2)] }, 2_003), 'a slot holds one step, ever');
    assert.equal(await stores.runs.lastEventSeq('run_e'), 1, 'the refused step left no events');
  });
}

for (const backend of backends) {
  it(`${backend.name}: a committed cold step makes its run cold and adds its initMs; a refused commit adds nothing (SPEC CS-3)`, async () => {
    const stores = await backend.open();
    await stores.runs.createRun(run('run_cold'), []);
    const first = (await stores.runs.claimRun({ owner: 'w1', agents: ['a'], now: 2_000, leaseMs: 1_000 }))!;
    const warm = { inputTokens: 3, outputTokens: 1, costMicros: 2 };
    assert.equal(await stores.runs.commitStep(leaseOf(first), { step: step(first, '0', 0), usage: warm, events: [] }, 2_001), true);
    let read = (await stores.runs.getRun('run_cold'))!;
    assert.deepEqual([read.cold, read.initMs], [undefined, undefined], 'warm while every call was warm');
    assert.equal(await stores.runs.commitStep(leaseOf(first), { step: step(first, '1', 1), usage: { ...warm, cold: true, initMs: 12.5 }, events: [] }, 2_002), true);
    // The owner loses its lease mid-step: its cold call is never committed; the new owner's call of that slot counts once.
    const second = (await stores.runs.claimRun({ owner: 'w2', agents: ['a'], now: 3_002, leaseMs: 1_000 }))!;
    assert.equal(await stores.runs.commitStep(leaseOf(first), { step: step(first, '2', 2), usage: { ...warm, cold: true, initMs: 100 }, events: [] }, 3_003), false);
    assert.equal(await stores.runs.commitStep(leaseOf(second), { step: step(second, '2', 2), usage: { ...warm, cold: true, initMs: 0.25 }, events: [] }, 3_004), true);
    assert.equal(await stores.runs.commitStep(leaseOf(second), { step: step(second, '3', 3), usage: warm, events: [] }, 3_005), true);
    read = (await stores.runs.getRun('run_cold'))!;
    assert.deepEqual([read.steps, read.inputTokens, read.costMicros, read.cold, read.initMs], [4, 12, 8, true, 12.75], 'a later warm step leaves the run cold');
    const [listed] = await stores.runs.listRuns({ limit: 10 });
    assert.deepEqual([listed?.id, listed?.cold, listed?.initMs], ['run_cold', true, 12.75]);
  });
}
