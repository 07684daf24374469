import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { computeCostMicros, PRICE_TABLE } from '../src/config/prices.js';
import { estimateInputTokens } from '../src/tenancy/token-estimator.js';
import { openAIChatCodec } from '../src/server/chat-codecs.js';
import { startSimServer } from '../src/sim/sim-server.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const clock = new ManualClock(Date.UTC(2026, 4, 12, 9));
let sim: Awaited<ReturnType<typeof startSimServer>>;
let gateway: TestGateway;

before(async () => {
  sim = await startSimServer({ port: 0, host: '127.0.0.1', seed: 3, timeScale: 0 });
  gateway = await startTestGateway({
    clock,
    configYaml: `
providers:
  up: { kind: openai-compatible, baseUrl: "${sim.url}/v1", apiKey: test-key, models: [sim-fast, sim-smart] }
models:
  fast: up/sim-fast
  smart: { deployments: [{ provider: up, model: sim-smart, prices: { input: 2.5, output: 10 } }] }
`,
  });
});

after(async () => {
  await gateway?.close();
  await sim?.close();
});

beforeEach(() => sim.engine.clearJournal());

async function admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function created(path: string, body: unknown): Promise<Record<string, string>> {
  const res = await admin<Record<string, string>>('POST', path, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
const ask = (key: string, model = 'fast', extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 40, ...extra });

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error.status ?? 0;
    throw error;
  }
}

describe('admin API', () => {
  test('creates an org, a team and a key under it, validates input and audits each change', async () => {
    const org = await created('/admin/orgs', { name: 'acme', budgets: { monthlyUsd: 100 } });
    assert.match(org.id!, /^org_[0-9a-f]{32}$/);
    const team = await created('/admin/teams', { name: 'search', orgId: 'acme', limits: { rpm: 100 } });
    assert.equal(team.orgId, org.id);
    const key = await created('/admin/keys', { name: 'search-prod', teamId: team.id, limits: { concurrency: 4 }, lane: 'batch' });
    assert.match(key.key!, /^bw_/);
    assert.equal(key.orgId, org.id, 'the org follows from the team');
    assert.deepEqual(key.limits, { concurrency: 4 });

    const bad = await admin<{ error: { code: string; param: string } }>('POST', '/admin/teams', { name: 'x', orgId: org.id, limits: { rpm: -1 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'limits.rpm');
    assert.equal((await admin('POST', '/admin/teams', { name: 'x', orgId: 'nope' })).status, 404);

    const patched = await admin<Record<string, unknown>>('PATCH', `/admin/teams/${team.id}`, { limits: { rpm: null, inputTpm: 5000 } });
    assert.deepEqual(patched.body.limits, { inputTpm: 5000 });
    assert.equal((await admin('DELETE', `/admin/orgs/${org.id}`)).status, 400, 'an org with teams under it stays');

    const audit = await admin<{ data: Array<{ action: string; target: string; actor: string }> }>('GET', '/admin/audit?limit=4');
    assert.deepEqual(audit.body.data.map((e) => e.action), ['team.update', 'key.create', 'team.create', 'org.create']);
    assert.ok(audit.body.data.every((e) => e.actor.startsWith('key_')));
    assert.ok(!JSON.stringify(audit.body).includes(key.key!), 'the key itself is never audited');

    const virtualKey = await fetch(`${gateway.url}/admin/orgs`, { headers: { authorization: `Bearer ${gateway.key}` } });
    assert.equal(virtualKey.status, 401, 'a virtual key cannot manage tenants');
  });
});

describe('admission', () => {
  test('a model outside the team allow-list is 403 without an upstream call, and /v1/models hides it', async () => {
    const org = await created('/admin/orgs', { name: 'allow-org' });
    const team = await created('/admin/teams', { name: 'allow-team', orgId: org.id, allowedModels: ['fast'] });
    const { key } = await created('/admin/keys', { name: 'k', teamId: team.id });
    await assert.rejects(ask(key!, 'smart'), (error: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(error.status, 403);
      assert.equal(error.code, 'model_not_allowed');
      return true;
    });
    assert.equal(sim.engine.getJournal().length, 0);
    const models = await client(key!).models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['fast']);
    assert.equal(await statusOf(ask(key!, 'fast')), 200);
  });

  test('a key over its requests per minute gets 429 rate_limited with Retry-After and x-ratelimit headers of that level', async () => {
    const { key } = await created('/admin/keys', { name: 'rpm-3', limits: { rpm: 3 } });
    for (let i = 0; i < 3; i++) assert.equal(await statusOf(ask(key!)), 200);
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 429);
    const body = (await res.json()) as { error: { code: string; param: string } };
    assert.equal(body.error.code, 'rate_limited');
    assert.equal(body.error.param, 'key');
    assert.equal(res.headers.get('retry-after'), '20');
    assert.equal(res.headers.get('x-ratelimit-limit-requests'), '3');
    assert.equal(res.headers.get('x-ratelimit-remaining-requests'), '0');
    assert.equal(res.headers.get('x-ratelimit-reset-requests'), '60s');
    await clock.advance(19_999);
    assert.equal(await statusOf(ask(key!)), 429);
    await clock.advance(1);
    assert.equal(await statusOf(ask(key!)), 200);
  });

  test('a $0.001 team cap stops a user with a $100 cap: 402 budget_exceeded naming the team', async () => {
    const org = await created('/admin/orgs', { name: 'cap-org' });
    const team = await created('/admin/teams', { name: 'cap-team', orgId: org.id, budgets: { dailyUsd: 0.001 } });
    const user = await created('/admin/users', { name: 'ann', teamId: team.id, budgets: { dailyUsd: 100 } });
    const { key } = await created('/admin/keys', { name: 'ann-key', userId: user.id });
    let served = 0;
    let error: InstanceType<typeof OpenAI.APIError> | undefined;
    for (let i = 0; i < 20 && !error; i++) {
      try {
        await ask(key!, 'smart');
        served++;
      } catch (thrown) {
        error = thrown as InstanceType<typeof OpenAI.APIError>;
      }
    }
    assert.ok(served >= 1, 'some requests fit under the cap');
    assert.equal(error?.status, 402);
    assert.equal(error?.code, 'budget_exceeded');
    assert.equal(error?.param, 'team.daily_budget');
    assert.match(error!.message, /team 'cap-team'.*cap \$0\.001 per day/);
  });

  test('tenant A saturating its limits leaves tenant B with no 429s', async () => {
    const a = await created('/admin/keys', { name: 'tenant-a', limits: { rpm: 5, concurrency: 2 } });
    const b = await created('/admin/keys', { name: 'tenant-b', limits: { rpm: 1000 } });
    const [aStatuses, bStatuses] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, () => statusOf(ask(a.key!)))),
      Promise.all(Array.from({ length: 20 }, () => statusOf(ask(b.key!)))),
    ]);
    assert.ok(aStatuses.filter((s) => s === 429).length >= 35, 'A is limited');
    assert.deepEqual(bStatuses.filter((s) => s !== 200), [], 'B sees no 429');
  });

  test('100 concurrent requests on a nearly spent budget overspend by at most one reservation', async () => {
    const capMicros = 5_000;
    const { key, id } = await created('/admin/keys', { name: 'race', budgets: { dailyUsd: capMicros / 1e6 } });
    const request = openAIChatCodec.parseRequest({ model: 'smart', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 40 });
    const reservation = computeCostMicros({ inputTokens: estimateInputTokens(request), outputTokens: 40 }, { ...PRICE_TABLE.sim['sim-smart'], input: 2.5, output: 10 }).costMicros;
    // Spend most of the budget one request at a time.
    let spent = 0;
    while (spent + 2 * reservation < capMicros) {
      assert.equal(await statusOf(ask(key!, 'smart')), 200);
      await gateway.app.ledger.flush();
      spent = (await gateway.app.stores.ledger.usage({ since: 0, groupBy: ['key'] })).find((r) => r.group.key === id)!.costMicros;
    }
    const statuses = await Promise.all(Array.from({ length: 100 }, () => statusOf(ask(key!, 'smart'))));
    await gateway.app.ledger.flush();
    const total = (await gateway.app.stores.ledger.usage({ since: 0, groupBy: ['key'] })).find((r) => r.group.key === id)!.costMicros;
    assert.ok(statuses.includes(200) && statuses.includes(402), `statuses: ${[...new Set(statuses)]}`);
    assert.ok(total <= capMicros + reservation, `spent ${total} µUSD against a cap of ${capMicros} (+${reservation})`);
  });
});

/** Waits until the ledger holds a record matching `match` (settle runs where the record is made). */
async function ledgerRecord(match: (r: Awaited<ReturnType<TestGateway['app']['stores']['ledger']['listRequests']>>[number]) => boolean) {
  for (let i = 0; i < 500; i++) {
    await gateway.app.ledger.flush();
    const found = (await gateway.app.stores.ledger.listRequests({ limit: 50 })).find(match);
    if (found) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('no such ledger record');
}

describe('reconciliation', () => {
  test('finished and aborted streams hand back the output tokens they reserved but did not use', async () => {
    const { key, id } = await created('/admin/keys', { name: 'otpm', limits: { outputTpm: 1000 } });
    const openai = client(key!);
    const full = await openai.chat.completions.create({ model: 'fast', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 600, stream: true });
    for await (const _chunk of full);
    await ledgerRecord((r) => r.keyId === id && r.stream && r.status === 200);
    // Without reconciliation 600 + 600 would not fit in 1 000 per minute.
    assert.equal(await statusOf(ask(key!, 'fast', { max_tokens: 600 })), 200);

    const cut = await openai.chat.completions.create(
      { model: 'fast', messages: [{ role: 'user', content: 'Tell me a long story' }], max_tokens: 600, stream: true },
      { headers: { 'x-sim-fault': 'stall' } },
    );
    let chunks = 0;
    for await (const _chunk of cut) if (++chunks === 2) break;
    const aborted = await ledgerRecord((r) => r.keyId === id && r.stream && r.status !== 200);
    assert.equal(aborted.status, 499);
    assert.ok(aborted.outputTokens > 0 && aborted.outputTokens < 600, `partial usage counted: ${aborted.outputTokens}`);
    const both = await Promise.all([statusOf(ask(key!, 'fast', { max_tokens: 600 })), statusOf(ask(key!, 'fast', { max_tokens: 600 }))]);
    assert.deepEqual(both.sort(), [200, 429], 'the bucket is real: two at once do not fit');
  });

  test('the ledger keeps the principal chain, lane, route and tags', async () => {
    const org = await created('/admin/orgs', { name: 'ledger-org' });
    const team = await created('/admin/teams', { name: 'ledger-team', orgId: org.id });
    const user = await created('/admin/users', { name: 'bob', teamId: team.id });
    const { key, id } = await created('/admin/keys', { name: 'ledger-key', userId: user.id });
    await client(key!).chat.completions.create(
      { model: 'smart', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-breakwater-priority': 'batch', 'x-breakwater-tags': 'feature=summary' } },
    );
    const record = await ledgerRecord((r) => r.keyId === id);
    assert.deepEqual(
      { org: record.orgId, team: record.teamId, user: record.userId, lane: record.lane, route: record.route, tags: record.tags, served: record.servedBy },
      { org: org.id, team: team.id, user: user.id, lane: 'batch', route: 'smart', tags: { feature: 'summary' }, served: 'up/sim-smart' },
    );
    assert.ok(record.costMicros > 0 && record.attempts === 1 && record.latencyMs >= 0);
    const bad = await statusOf(client(key!).chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-breakwater-priority': 'urgent' } }));
    assert.equal(bad, 400);
    await gateway.app.ledger.flush();

    const usage = await admin<{ data: Array<Record<string, unknown>> }>('GET', `/admin/usage?group_by=team,model&since=1d`);
    const row = usage.body.data.find((r) => r.team === team.id);
    assert.deepEqual({ name: row?.team_name, model: row?.model, requests: row?.requests, errors: row?.errors }, { name: 'ledger-team', model: 'smart', requests: 2, errors: 1 });
    assert.equal((await admin('GET', '/admin/usage?group_by=colour')).status, 400);
  });
});
