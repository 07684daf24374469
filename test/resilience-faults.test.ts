import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import type { SimAdapter } from '../src/sim/sim-adapter.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { withVirtualTime } from './helpers/virtual-time.js';

// Two independent simulated providers: `sim` is the primary whose faults each test scripts,
// `sim-b` the healthy fallback. Time is virtual: waits and timeouts cost no real time and the
// journal shows exactly when each upstream call happened.
const CONFIG = `
providers:
  sim-b: { kind: sim }
models:
  chain:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
  solo: sim/sim-fast
  small:
    deployments: [{ provider: sim, model: sim-fast }]
    contextFallback: big
  big: sim-b/sim-smart
  strict:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    validators: [{ type: refusal }]
  hedged:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    hedge: { afterMs: 1000 }
  capped:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    validators: [{ type: refusal }]
    retry: { maxSpendMicros: 1 }
  guarded:
    deployments: [{ provider: sim, model: sim-fast }]
    degeneration: { maxChars: 40 }
routes:
  defaults:
    timeouts: { headersMs: 5000, firstTokenMs: 5000, idleMs: 3000 }
`;

const START = 1_700_000_000_000;
let clock: ManualClock;
let gateway: TestGateway;
let openai: OpenAI;
let primary: SimAdapter;
let fallback: SimAdapter;

before(async () => {
  clock = new ManualClock(START);
  gateway = await startTestGateway({ configYaml: CONFIG, clock });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0, timeout: 60_000 });
  primary = gateway.app.providers.adapter('sim') as SimAdapter;
  fallback = gateway.app.providers.adapter('sim-b') as SimAdapter;
});

after(async () => {
  await gateway?.close();
});

beforeEach(() => {
  for (const sim of [primary, fallback]) {
    sim.engine.clearFaults();
    sim.clearJournal();
  }
  for (const deployment of ['sim/sim-fast', 'sim-b/sim-fast', 'sim-b/sim-smart']) gateway.app.resilience.breakers.reset(deployment);
});

const messages = [{ role: 'user' as const, content: 'Say something useful' }];

function complete(model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return withVirtualTime(clock, openai.chat.completions.create({ model, messages, ...extra }, { headers }).withResponse());
}

async function failure(model: string, headers: Record<string, string> = {}): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await withVirtualTime(
    clock,
    openai.chat.completions.create({ model, messages }, { headers }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.ok(error instanceof OpenAI.APIError, `expected an API error, got ${String(error)}`);
  return error;
}

/**
 * Streams through the official SDK, as a client would, and also keeps the raw SSE (the SDK hides
 * whether `data: [DONE]` arrived, which is what tells a clean end from a cut).
 */
async function streamText(model: string): Promise<{ text: string; error?: unknown; raw: string }> {
  let raw = '';
  const recording: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const [forSdk, forTest] = res.body!.tee();
    void new Response(forTest).text().then((text) => (raw = text));
    return new Response(forSdk, { status: res.status, headers: res.headers });
  };
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0, fetch: recording });
  let text = '';
  let error: unknown;
  await withVirtualTime(
    clock,
    (async () => {
      try {
        const stream = await client.chat.completions.create({ model, messages, stream: true });
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      } catch (thrown) {
        error = thrown instanceof OpenAI.APIError ? thrown.error : thrown;
      }
    })(),
  );
  for (let i = 0; i < 50 && raw === ''; i++) await new Promise((resolve) => setImmediate(resolve));
  return { text, error, raw };
}

describe('retries', () => {
  test('a 429 with Retry-After is retried after the wait the upstream asked for', async () => {
    primary.engine.setFaults('429:retry-after=2:times=1');
    const { data, response } = await complete('solo');
    assert.ok(data.choices[0]!.message.content);
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    const [first, second] = primary.getJournal();
    assert.equal(first!.status, 429);
    assert.ok(second!.time - first!.time >= 2000, `retried after ${second!.time - first!.time} ms`);
  });

  test('a 429 without Retry-After is retried after a jittered backoff', async () => {
    primary.engine.setFaults('429:times=1');
    const { response } = await complete('solo');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    const [first, second] = primary.getJournal();
    const waited = second!.time - first!.time;
    assert.ok(waited >= 1000 && waited <= 1500, `waited ${waited} ms: the 1 s rate-limit cooldown, plus at most one jittered base`);
  });

  test('a 500 once is retried on the same deployment and answered', async () => {
    primary.engine.setFaults('500:times=1');
    const { response } = await complete('solo');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim/sim-fast');
    assert.equal(primary.getJournal().length, 2);
  });

  test('a persistent 503 without fallback ends in a retryable 503 naming attempts, after the per-deployment limit', async () => {
    primary.engine.setFaults('503');
    const error = await failure('solo');
    assert.equal(error.status, 503);
    const body = error.error as { code: string; retryable: boolean; attempts: number; provider: string; upstream_status: number };
    assert.equal(body.code, 'upstream_unavailable');
    assert.equal(body.retryable, true);
    assert.equal(body.attempts, 2);
    assert.equal(body.upstream_status, 503);
    assert.equal(primary.getJournal().length, 2);
  });

  test('non-retryable errors are never retried: context length and content policy', async () => {
    primary.engine.setFaults('content-policy');
    const policy = await failure('solo');
    assert.equal(policy.status, 400);
    assert.equal((policy.error as { code: string }).code, 'content_policy_violation');
    assert.equal(primary.getJournal().length, 1);

    primary.clearJournal();
    primary.engine.clearFaults();
    primary.engine.setFaults('context-length');
    const context = await failure('solo');
    assert.equal((context.error as { code: string }).code, 'context_length_exceeded');
    assert.equal(primary.getJournal().length, 1);
  });

  test('a context-length error moves to the configured larger-context model', async () => {
    primary.engine.setFaults('context-length');
    const { response } = await complete('small');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim-b/sim-smart');
    assert.equal(primary.getJournal().length, 1);
  });
});

describe('fallbacks and timeouts', () => {
  test('a persistent 503 falls back; the answer names the fallback and the attempt count', async () => {
    primary.engine.setFaults('503');
    const { response } = await complete('chain');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim-b/sim-fast');
    assert.equal(response.headers.get('x-breakwater-attempts'), '3');
    const id = response.headers.get('x-breakwater-request-id')!;
    await gateway.app.ledger.flush();
    const record = await gateway.app.stores.ledger.getRequest(id);
    assert.equal(record?.servedBy, 'sim-b/sim-fast');
    assert.equal(record?.attempts, 3);
    assert.ok(record!.outputTokens > 0, 'usage is the serving attempt');
  });

  test('a reset before headers is retried', async () => {
    primary.engine.setFaults('reset:times=1');
    const { response } = await complete('solo');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
  });

  test('an upstream that never answers costs one header timeout, then the fallback serves', async () => {
    primary.engine.setFaults('hang');
    const started = clock.now();
    const { response } = await complete('chain');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim-b/sim-fast');
    assert.equal(primary.getJournal().length, 1, 'the silent deployment is not asked again');
    const fallbackCall = fallback.getJournal()[0]!;
    assert.equal(fallbackCall.time - started, 5000, 'moved on exactly at the 5 s header timeout');
  });

  test('with no candidate left, a silent upstream gives a clean 504 well inside the deadline', async () => {
    primary.engine.setFaults('hang');
    const started = clock.now();
    const error = await failure('solo');
    assert.equal(error.status, 504);
    assert.equal((error.error as { reason: string }).reason, 'headers_timeout');
    assert.equal(primary.getJournal().length, 1);
    assert.equal(clock.now() - started, 5000);
  });

  test('a slow first token moves to the next candidate at the first-token limit', async () => {
    primary.engine.setFaults('slow-first-token:ms=60000');
    const stream = await streamText('chain');
    assert.ok(stream.text.length > 0);
    assert.equal(stream.error, undefined);
    assert.equal(fallback.getJournal().length, 1);
  });

  test('x-breakwater-timeout-ms shortens the deadline', async () => {
    primary.engine.setFaults('hang');
    const started = clock.now();
    const error = await failure('solo', { 'x-breakwater-timeout-ms': '1200' });
    assert.equal(error.status, 504);
    assert.equal(clock.now() - started, 1200);
  });
});

describe('hedging', () => {
  test('without a first token by hedge.afterMs the next candidate starts, and the first to answer wins', async () => {
    primary.engine.setFaults('slow-first-token:ms=4000');
    const started = clock.now();
    const { response } = await complete('hedged');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim-b/sim-fast');
    assert.equal(response.headers.get('x-breakwater-attempts'), '2');
    assert.equal(fallback.getJournal()[0]!.time - started, 1000, 'the hedge started at afterMs');
    assert.ok(clock.now() - started < 4000, 'the slow primary was not waited for');
  });

  test('a primary that answers before afterMs is never hedged', async () => {
    const { response } = await complete('hedged');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim/sim-fast');
    assert.equal(fallback.getJournal().length, 0);
  });
});

describe('streams', () => {
  test('a stream cut after content ends with an in-band error, never a clean end, and no fallback splice', async () => {
    primary.engine.setFaults('cut:after=3');
    const stream = await streamText('chain');
    assert.ok(stream.text.length > 0, 'the content before the cut arrived');
    assert.equal((stream.error as { code: string }).code, 'upstream_error');
    assert.ok(!stream.raw.includes('data: [DONE]'));
    assert.equal(fallback.getJournal().length, 0, 'nothing was spliced on from another model');
  });

  test('the degeneration guard cuts a runaway stream with an in-band semantic error', async () => {
    const stream = await streamText('guarded');
    assert.ok(stream.text.length > 0 && stream.text.length <= 80, `streamed ${stream.text.length} chars before the cut`);
    assert.equal((stream.error as { code: string; reason: string }).code, 'semantic_validation_failed');
    assert.equal((stream.error as { reason: string }).reason, 'degenerate');
    assert.ok(!stream.raw.includes('data: [DONE]'));
  });

  test('a stream that stalls is cut at the idle limit with an in-band timeout', async () => {
    primary.engine.setFaults('stall:after=2');
    const stream = await streamText('solo');
    assert.equal((stream.error as { code: string; reason: string }).reason, 'idle_timeout');
    assert.ok(!stream.raw.includes('data: [DONE]'));
  });

  test('an empty streamed answer is caught before any byte reaches the client, and the fallback answers', async () => {
    primary.engine.setFaults('empty');
    const stream = await streamText('chain');
    assert.equal(stream.error, undefined);
    assert.ok(stream.text.length > 0);
    assert.equal(fallback.getJournal().length, 1);
  });

  test('a failure before the first content byte is retried invisibly', async () => {
    primary.engine.setFaults('cut:after=0:times=1');
    const stream = await streamText('solo');
    assert.equal(stream.error, undefined);
    assert.ok(stream.raw.includes('data: [DONE]'));
    assert.equal(primary.getJournal().length, 2);
  });
});

describe('validators and breakers', () => {
  test('a refusal from the primary is a semantic failure: the fallback answers', async () => {
    primary.engine.setFaults('refusal');
    const { response } = await complete('strict');
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim-b/sim-fast');
  });

  test('the per-request spend cap stops trying once rejected answers cost that much', async () => {
    primary.engine.setFaults('refusal');
    const error = await failure('capped');
    assert.equal(error.status, 502);
    assert.equal((error.error as { code: string }).code, 'semantic_validation_failed');
    assert.equal(fallback.getJournal().length, 0, 'the fallback was not paid for');
  });

  test('invalid JSON in JSON mode moves on; when every candidate fails the error lists the reasons', async () => {
    primary.engine.setFaults('invalid-json');
    const { data } = await complete('chain', { response_format: { type: 'json_object' } });
    assert.doesNotThrow(() => JSON.parse(data.choices[0]!.message.content!));

    fallback.engine.setFaults('invalid-json');
    const error = await withVirtualTime(
      clock,
      openai.chat.completions.create({ model: 'chain', messages, response_format: { type: 'json_object' } }).then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    assert.ok(error instanceof OpenAI.APIError);
    assert.equal(error.status, 502);
    assert.equal((error.error as { code: string }).code, 'semantic_validation_failed');
    assert.match(error.message, /sim\/sim-fast: invalid JSON/i);
    assert.match(error.message, /sim-b\/sim-fast: invalid JSON/i);
  });

  test('20 schema-invalid 200s open the breaker; then the primary is skipped without a call', async () => {
    primary.engine.setFaults('invalid-json');
    for (let i = 0; i < 20; i++) await complete('chain', { response_format: { type: 'json_object' } });
    assert.equal(gateway.app.resilience.breakers.get('sim/sim-fast').state, 'open');
    primary.clearJournal();
    const { response } = await complete('chain', { response_format: { type: 'json_object' } });
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim-b/sim-fast');
    assert.equal(primary.getJournal().length, 0, 'an open breaker costs no network call');

    const asAdmin = { authorization: `Bearer ${gateway.adminKey}` };
    const state = (await (await fetch(`${gateway.url}/admin/breakers`, { headers: asAdmin })).json()) as { breakers: Record<string, { state: string }> };
    assert.equal(state.breakers['sim/sim-fast']?.state, 'open');
    const refused = await fetch(`${gateway.url}/admin/breakers`, { headers: { authorization: `Bearer ${gateway.key}` } });
    assert.equal(refused.status, 401, 'a virtual key cannot read admin state');
    const reset = await fetch(`${gateway.url}/admin/breakers/${encodeURIComponent('sim/sim-fast')}/reset`, { method: 'POST', headers: asAdmin });
    assert.equal(reset.status, 200);
    assert.equal(gateway.app.resilience.breakers.get('sim/sim-fast').state, 'closed');
  });

  test('a primary down for 60 s serves again within 30 s of recovering', async () => {
    primary.engine.setFaults('503');
    const downAt = clock.now();
    let recoveredAt: number | undefined;
    let servedByPrimaryAt: number | undefined;
    while (clock.now() - downAt < 180_000 && servedByPrimaryAt === undefined) {
      if (recoveredAt === undefined && clock.now() - downAt >= 60_000) {
        primary.engine.clearFaults();
        recoveredAt = clock.now();
      }
      const { response } = await complete('chain');
      if (recoveredAt !== undefined && response.headers.get('x-breakwater-served-by') === 'sim/sim-fast') servedByPrimaryAt = clock.now();
      await withVirtualTime(clock, clock.sleep(1000));
    }
    assert.ok(servedByPrimaryAt !== undefined, 'the primary served again');
    assert.ok(servedByPrimaryAt - recoveredAt! <= 30_000, `served again ${servedByPrimaryAt - recoveredAt!} ms after recovery`);
  });
});
