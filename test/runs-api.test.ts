import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defineAgent } from '../src/runs/define-agent.js';
import { createFakeEffectLedger, createFakePaymentTools } from '../src/runs/fake-tools.js';
import { dataOf, runClient, type RunClient } from './helpers/run-client.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const ledger = createFakeEffectLedger();
const payments = createFakePaymentTools(ledger);
const calls = new Map<string, number>();
const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
let variant: 'a' | 'b' = 'a';

const agents = [
  defineAgent({
    name: 'counter',
    inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false },
    async run(ctx, input: { n: number }) {
      let total = 0;
      for (let i = 0; i < input.n; i++) total += await ctx.step('add', () => i);
      ctx.emit('progress', { total });
      return { total };
    },
  }),
  defineAgent({
    name: 'flaky',
    tools: {
      ...payments,
      unstable: async (_args, context) => {
        count('unstable');
        if (context.attempt < 3) throw new Error(`attempt ${context.attempt} failed`);
        return { ok: true, attempt: context.attempt };
      },
    },
    async run(ctx) {
      for (let i = 1; i <= 4; i++) await ctx.step(`s${i}`, () => count(`s${i}`));
      const fifth = await ctx.tool('unstable', {});
      await ctx.step('s6', () => count('s6'));
      return fifth;
    },
  }),
  defineAgent({
    name: 'bounded',
    limits: { maxSteps: 3 },
    async run(ctx, input: { big?: boolean }) {
      if (input.big) await ctx.step('big', () => 'x'.repeat(5_000));
      for (;;) await ctx.step('loop', () => 1);
    },
  }),
  defineAgent({
    name: 'approver',
    tools: payments,
    async run(ctx, input: { orderId: string }) {
      const decision = await ctx.waitFor<{ approved: boolean; comment?: string }>({ approval: 'refund', details: { orderId: input.orderId } }, { timeoutMs: 60_000 });
      if (decision.kind !== 'signal' || !decision.payload.approved) return { refunded: false };
      const refund = await ctx.tool('payment.refund', { orderId: input.orderId, amountCents: 500 });
      return { refunded: true, refund };
    },
  }),
  defineAgent({
    name: 'changing',
    async run(ctx) {
      await ctx.step(variant === 'a' ? 'first' : 'renamed', () => 1);
      await ctx.waitFor({ signal: 'continue' });
      return 'done';
    },
  }),
];

let gw: TestGateway;
let client: RunClient;

before(async () => {
  gw = await startTestGateway({ agents, configYaml: 'runs:\n  pollMs: 10\n  stepOutputMaxBytes: 1000\n' });
  client = runClient(gw.url, gw.key);
});
after(async () => {
  await gw.close();
  ledger.close();
});

describe('runs over HTTP', () => {
  it('answers POST /v1/runs with 202 and a queued run fast, runs it, and replays its events exactly once from any cursor', async () => {
    // How fast the 202 comes is measured by `npm run bench:runs` (create latency), not here.
    const res = await client.post('/v1/runs', { agent: 'counter', input: { n: 5 } });
    assert.equal(res.status, 202);
    assert.deepEqual([res.body.object, res.body.status, res.body.events_url], ['run', 'queued', `/v1/runs/${res.body.id}/events`]);
    assert.match(res.body.id, /^run_[0-9a-f]{32}$/);

    const all = await client.events(res.body.id);
    assert.equal(all.ended, true, 'the stream ends with the run');
    assert.deepEqual(all.events.map((event) => Number(event.id)), all.events.map((_, index) => index), 'ids 0, 1, 2 … with no gap');
    assert.equal(all.events[0]!.event, 'run.created');
    assert.equal(all.events.at(-1)!.event, 'run.completed');
    assert.deepEqual(dataOf(all.events, 'run.completed')[0].result, { total: 10 });
    assert.deepEqual(dataOf(all.events, 'agent.progress')[0].data, { total: 10 });
    assert.equal(dataOf(all.events, 'step.completed').length, 5);

    for (const cut of [0, 3, all.events.length - 2]) {
      const rest = await client.events(res.body.id, { after: cut });
      assert.deepEqual(rest.events, all.events.slice(cut + 1), `resumed after ${cut}: the rest, once`);
    }
    const run = (await client.get(`/v1/runs/${res.body.id}`)).body;
    assert.deepEqual([run.status, run.steps, run.result], ['succeeded', 5, { total: 10 }]);
    const listed = (await client.get('/v1/runs?status=succeeded')).body;
    assert.ok(listed.data.some((r: { id: string }) => r.id === run.id));
  });

  it('returns the same run for a repeated idempotency key', async () => {
    const first = await client.post('/v1/runs', { agent: 'counter', input: { n: 1 }, idempotency_key: 'order-7' });
    const second = await client.post('/v1/runs', { agent: 'counter', input: { n: 1 } }, { 'idempotency-key': 'order-7' });
    assert.deepEqual([first.status, second.status], [202, 200]);
    assert.equal(second.body.id, first.body.id);
  });

  it('retries a failing tool step without re-running earlier steps (LR-3)', async () => {
    calls.clear();
    const run = await client.create('flaky');
    const done = await client.finish(run.id);
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.result, { ok: true, attempt: 3 });
    assert.deepEqual(Object.fromEntries(calls), { s1: 1, s2: 1, s3: 1, s4: 1, unstable: 3, s6: 1 });
    const events = (await client.events(run.id)).events;
    assert.equal(dataOf(events, 'step.retry').length, 2);
  });

  it('ends a run at its step bound, and fails an oversized step output with payload_too_large', async () => {
    const bounded = await client.finish((await client.create('bounded', {})).id);
    assert.equal(bounded.status, 'failed');
    assert.deepEqual([bounded.error.code, bounded.error.reason, bounded.steps], ['run_limit_exceeded', 'max_steps', 3]);
    const big = await client.finish((await client.create('bounded', { big: true })).id);
    assert.deepEqual([big.status, big.error.code, big.steps], ['failed', 'payload_too_large', 1], 'the failed step is journaled, nothing else ran');
  });

  it('fails a resumed run whose step order changed with workflow_diverged', async () => {
    variant = 'a';
    const run = await client.create('changing');
    await client.events(run.id, { stop: (event) => event.event === 'run.waiting' });
    variant = 'b';
    assert.equal((await client.post(`/v1/runs/${run.id}/signals/continue`, { payload: 1 })).status, 202);
    const done = await client.finish(run.id);
    assert.deepEqual([done.status, done.error.code], ['failed', 'workflow_diverged']);
    assert.match(done.error.message, /step 0 is '0:renamed' now but the journal recorded '0:first'/);
  });

  it('parks a run on an approval, holding no worker, and completes it with the decision once', async () => {
    const approverKey = (await gw.app.keys.create({ name: 'approver', kind: 'virtual', scopes: ['runs', 'runs:approve'] })).key;
    const approver = runClient(gw.url, approverKey);
    const run = await approver.create('approver', { orderId: 'o-1' });
    const seen = await approver.events(run.id, { stop: (event) => event.event === 'run.waiting' });
    assert.deepEqual(dataOf(seen.events, 'approval.requested')[0].details, { orderId: 'o-1' });
    const waiting = (await approver.get(`/v1/runs/${run.id}`)).body;
    assert.deepEqual([waiting.status, waiting.waiting_for.signal], ['waiting', 'approval:refund']);
    assert.equal(gw.app.runs.worker!.activeCount, 0, 'a parked run holds no worker');

    const denied = await client.post(`/v1/runs/${run.id}/approvals/refund`, { approved: true });
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'permission_denied'], 'approvals need the runs:approve scope');
    const approved = await approver.post(`/v1/runs/${run.id}/approvals/refund`, { approved: true, comment: 'ok' });
    assert.equal(approved.status, 200);
    const repeat = await approver.post(`/v1/runs/${run.id}/approvals/refund`, { approved: false });
    assert.deepEqual(repeat.body.decision, { approved: true, comment: 'ok' }, 'idempotent: the first decision stands');
    const done = await approver.finish(run.id);
    assert.deepEqual([done.status, done.result.refunded], ['succeeded', true]);
    assert.equal(ledger.effects().filter((e) => e.idempotencyKey.startsWith(run.id)).length, 1);
  });
});

describe('bad input gets its documented status and error JSON, and changes nothing', () => {
  it('refuses an unknown agent, a missing agent, input the schema rejects and bad limits', async () => {
    const unknown = await client.post('/v1/runs', { agent: 'nope', input: {} });
    assert.deepEqual([unknown.status, unknown.body.error.code, unknown.body.error.param], [404, 'agent_not_found', 'agent']);
    const missing = await client.post('/v1/runs', { input: {} });
    assert.deepEqual([missing.status, missing.body.error.code, missing.body.error.param], [400, 'invalid_request', 'agent']);
    const rejected = await client.post('/v1/runs', { agent: 'counter', input: { n: 'five' } });
    assert.deepEqual([rejected.status, rejected.body.error.code, rejected.body.error.param], [400, 'invalid_request', 'input']);
    assert.match(rejected.body.error.message, /\/n must be integer/);
    const limits = await client.post('/v1/runs', { agent: 'counter', input: { n: 1 }, limits: { maxSteps: -1 } });
    assert.deepEqual([limits.status, limits.body.error.param], [400, 'limits.maxSteps']);
    const status = await client.get('/v1/runs?status=done');
    assert.deepEqual([status.status, status.body.error.param], [400, 'status']);
  });

  it('answers 409 for a cancel or signal of a finished run and an approval the run is not waiting for; a repeated cancel is idempotent', async () => {
    const owner = runClient(gw.url, (await gw.app.keys.create({ name: 'approver-2', kind: 'virtual', scopes: ['runs', 'runs:approve'] })).key);
    const run = await owner.create('counter', { n: 1 });
    const done = await owner.finish(run.id);
    const cancel = await owner.post(`/v1/runs/${run.id}/cancel`);
    assert.deepEqual([cancel.status, cancel.body.error.code], [409, 'run_finished']);
    const signal = await owner.post(`/v1/runs/${run.id}/signals/go`, { payload: 1 });
    assert.deepEqual([signal.status, signal.body.error.code], [409, 'run_finished']);
    const badBody = await owner.post(`/v1/runs/${run.id}/approvals/x`, { approved: 'yes' });
    assert.deepEqual([badBody.status, badBody.body.error.param], [400, 'approved']);
    assert.deepEqual((await owner.get(`/v1/runs/${run.id}`)).body, done, 'nothing committed changed');

    const parked = await owner.create('changing');
    await owner.events(parked.id, { stop: (event) => event.event === 'run.waiting' });
    const notWaiting = await owner.post(`/v1/runs/${parked.id}/approvals/refund`, { approved: true });
    assert.deepEqual([notWaiting.status, notWaiting.body.error.code], [409, 'run_not_waiting'], 'parked on a signal, not on this approval');
    const first = await owner.post(`/v1/runs/${parked.id}/cancel`);
    assert.deepEqual([first.status, first.body.cancel_requested], [200, true]);
    const ended = await owner.finish(parked.id);
    assert.equal(ended.status, 'cancelled');
    const again = await owner.post(`/v1/runs/${parked.id}/cancel`);
    assert.deepEqual([again.status, again.body.status], [200, 'cancelled']);
  });

  it("answers another tenant's run id exactly like a missing one: 404 on every route", async () => {
    const run = await client.create('counter', { n: 1 });
    await client.finish(run.id);
    const other = runClient(gw.url, (await gw.app.keys.create({ name: 'other', kind: 'virtual' })).key);
    for (const res of [
      await other.get(`/v1/runs/${run.id}`),
      await other.post(`/v1/runs/${run.id}/cancel`),
      await other.post(`/v1/runs/${run.id}/signals/go`, {}),
      await other.get(`/v1/runs/${run.id}/events`),
    ]) {
      assert.deepEqual([res.status, res.body.error.code], [404, 'not_found']);
    }
    assert.deepEqual((await other.get('/v1/runs')).body.data, []);
  });
});
