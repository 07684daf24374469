import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { after, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { AgentRegistry } from '../src/runs/agent-registry.js';
import { defineAgent } from '../src/runs/define-agent.js';
import { createFakeEffectLedger, createFakePaymentTools } from '../src/runs/fake-tools.js';
import { RunService } from '../src/runs/run-service.js';
import { RunWorker } from '../src/runs/run-worker.js';
import type { KeyRecord, Stores } from '../src/store/interfaces.js';
import { openSqliteStores } from '../src/store/sqlite-stores.js';
import { StreamHub } from '../src/streaming/stream-hub.js';

const root = mkdtempSync(join(tmpdir(), 'bw-race-'));
after(() => rmSync(root, { recursive: true, force: true }));

const LEASE_MS = 1_000;
const key: KeyRecord = { id: 'k1', name: 'k', hash: 'h', prefix: 'bw_x', kind: 'virtual', scopes: ['runs'], createdAt: 0 };

test('two workers race for one run: after a takeover only the lease holder’s commits land', async () => {
  const ledger = createFakeEffectLedger();
  const charge = createFakePaymentTools(ledger)['payment.charge'];
  // The first charge (worker A's) blocks until released, as if A were SIGSTOPped mid-call.
  let entered!: () => void;
  const inTool = new Promise<void>((resolve) => (entered = resolve));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let toolCalls = 0;
  const agents = new AgentRegistry([
    defineAgent({
      name: 'race',
      tools: {
        'payment.charge': async (args, context) => {
          if (++toolCalls === 1) {
            entered();
            await gate;
          }
          return charge(args, context);
        },
      },
      async run(ctx) {
        await ctx.step('before', () => 'b');
        const receipt = await ctx.tool('payment.charge', { orderId: 'o1', amountCents: 700 });
        await ctx.step('after', () => 'a');
        return receipt;
      },
    }),
  ]);
  const path = join(root, 'race.db');
  // Two connections to one file, as two processes would have; each worker has its own clock.
  const processes = [openSqliteStores({ path }), openSqliteStores({ path })] as const;
  const clocks = [new ManualClock(1_000_000), new ManualClock(1_000_000)] as const;
  const settings = { leaseMs: LEASE_MS, heartbeatMs: 300, detachGraceMs: 60_000, stepOutputMaxBytes: 1 << 20, stallMs: 120_000, retentionMs: 60_000 };
  const worker = (stores: Stores, clock: ManualClock, owner: string) =>
    new RunWorker({
      store: stores.runs,
      hub: new StreamHub({ log: stores.events, clock, detachGraceMs: 60_000, retentionMs: 60_000 }),
      clock,
      settings,
      gateway: () => assert.fail('no LLM calls here'),
      keyFor: async () => key,
      agents,
      pollMs: 100,
      concurrency: 1,
      owner,
    });
  const [a, b] = [worker(processes[0], clocks[0], 'A'), worker(processes[1], clocks[1], 'B')];
  const { run } = await new RunService({ store: processes[0].runs, clock: clocks[0], agents }).create(key, { agent: 'race', input: {} }, 'req_1');
  await a.start();
  await inTool;
  assert.equal(a.activeCount, 1);

  await b.start();
  await turn();
  assert.equal(b.activeCount, 0, 'A holds the lease: B claims nothing');
  // A is frozen (its clock, so its heartbeat, stands still); B's time passes the lease.
  await clocks[1].advance(LEASE_MS + 100);
  for (let i = 0; i < 200 && (await processes[1].runs.getRun(run.id))!.status !== 'succeeded'; i++) {
    await clocks[1].advance(50);
    await turn();
  }
  const done = (await processes[1].runs.getRun(run.id))!;
  assert.deepEqual([done.status, done.epoch, done.steps], ['succeeded', 2, 3]);

  release();
  for (let i = 0; i < 100 && a.activeCount > 0; i++) await turn();
  assert.equal(a.activeCount, 0, 'A found out it lost the run and stopped');
  assert.equal((await processes[0].runs.renewLease({ runId: run.id, epoch: 1, owner: 'A' }, clocks[0].now(), LEASE_MS)).ok, false);

  const steps = await processes[0].runs.listSteps(run.id);
  assert.deepEqual(
    steps.map((s) => [s.name, s.epoch]),
    [
      ['before', 1],
      ['payment.charge', 2],
      ['after', 2],
    ],
    "only the lease holder's commits landed; the step A finished late is B's",
  );
  assert.equal(toolCalls, 2, 'both called the tool …');
  assert.equal(ledger.effects().length, 1, '… with one idempotency key, so one charge');
  assert.equal((await processes[0].runs.listEffects(run.id)).length, 1);
  const events = await processes[0].events.read(run.id, -1, 1000);
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i));
  assert.equal(events.filter((e) => e.event === 'step.completed').length, 3);
  assert.equal(events.filter((e) => e.event === 'run.completed').length, 1);
  assert.deepEqual(JSON.parse(done.result!), { id: `ch_${`${run.id}:1:payment.charge`.replace(/[^A-Za-z0-9]/g, '').slice(-24)}`, orderId: 'o1', amountCents: 700, status: 'succeeded' });

  await Promise.all([a.stop(), b.stop()]);
  for (const stores of processes) await stores.close();
  ledger.close();
});
