import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ManualClock } from '../src/core/clock.js';
import { defineAgent } from '../src/runs/define-agent.js';
import type { RequestRecord } from '../src/store/interfaces.js';
import { chatChunkFrame } from './helpers/chat-chunk-frame.js';
import { parsePrometheus, sampleSum } from './helpers/prometheus-text.js';
import { runClient } from './helpers/run-client.js';
import { completeChat, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

const SLEEP_AFTER_IDLE_MS = 60_000;

/**
 * An OpenAI-compatible upstream that falls asleep after 60 s without traffic on the test's clock,
 * like a scale-to-zero GPU box (SPEC CS-4). It answers at once either way: instead of being slow
 * it counts the completions it had to wake up for.
 */
async function startSleepyUpstream(clock: ManualClock): Promise<{ baseUrl: string; completionsServedAsleep: number; pings: number; server: Server }> {
  let lastHit = clock.now();
  const state = { baseUrl: '', completionsServedAsleep: 0, pings: 0, server: undefined as unknown as Server };
  state.server = createServer((req, res) => {
    const asleep = clock.now() - lastHit >= SLEEP_AFTER_IDLE_MS;
    lastHit = clock.now();
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/models') {
        state.pings++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
        return;
      }
      if (asleep) state.completionsServedAsleep++;
      // The gateway may stream from the upstream even for a non-streamed client request.
      if ((JSON.parse(body) as { stream?: boolean }).stream) {
        res.setHeader('content-type', 'text/event-stream');
        res.write(chatChunkFrame({ role: 'assistant', content: 'hi' }, null));
        res.write(chatChunkFrame({}, 'stop', { usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
        res.end('data: [DONE]\n\n');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 0,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  state.baseUrl = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}/v1`;
  return state;
}

function configFor(baseUrl: string, options: { keepWarm?: boolean | string; warmUp: boolean }): string {
  return [
    'server:',
    `  warmUp: ${options.warmUp}`,
    'providers:',
    '  sleepy:',
    '    kind: openai-compatible',
    `    baseUrl: ${baseUrl}`,
    '    models: [m]',
    ...(typeof options.keepWarm === 'string' ? [`    keepWarm: { cron: "${options.keepWarm}" }`] : options.keepWarm ? ['    keepWarm: { intervalMs: 30000 }'] : []),
    'models:',
    '  chat: sleepy/m',
    '',
  ].join('\n');
}


async function ledgerRow(gw: TestGateway, id: string): Promise<RequestRecord> {
  await gw.app.ledger.flush();
  const record = await gw.app.stores.ledger.getRequest(id);
  assert.ok(record, `ledger row ${id}`);
  return record;
}

/** Lets the warm-up after ready finish: its pings, then the tokenizer once the server has been quiet. */
async function warmedUp(gw: TestGateway, clock: ManualClock): Promise<void> {
  await gw.app.keepWarm.settled();
  await clock.advance(gw.app.config.server.warmUpQuietMs);
  await gw.app.warmUp.done;
}

/** Moves the clock in steps and lets each keep-warm ping it wakes finish before the next step. */
async function idle(gw: TestGateway, clock: ManualClock, ms: number, stepMs = 10_000): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    await clock.advance(Math.min(stepMs, ms - passed));
    await gw.app.keepWarm.settled();
  }
}

describe('cold and warm requests (SPEC CS-2, CS-3, CS-4, E2E-10)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('tags the first request and the first after an idle period cold, in the ledger, metrics, usage and access log', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const upstream = await startSleepyUpstream(clock);
    cleanups.push(() => new Promise((resolve) => upstream.server.close(resolve)));
    const lines: string[] = [];
    const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => lines.push(line) });
    const gw = await startTestGateway({ configYaml: configFor(upstream.baseUrl, { warmUp: false }), clock, logger });
    cleanups.push(() => gw.close());

    const first = await ledgerRow(gw, await completeChat(gw, 'chat'));
    assert.equal(first.cold, true, 'nothing warmed the upstream: the first request is cold');
    assert.ok(first.initMs! > 0, `it paid for the connection: initMs ${first.initMs}`);
    const second = await ledgerRow(gw, await completeChat(gw, 'chat'));
    assert.equal(second.cold, undefined, 'the next request finds it warm');
    assert.equal(second.initMs, undefined);

    await idle(gw, clock, 61_000);
    const afterIdle = await ledgerRow(gw, await completeChat(gw, 'chat'));
    assert.equal(afterIdle.cold, true, 'the first request after an idle minute is cold');
    assert.equal(upstream.completionsServedAsleep, 1, 'and the upstream had fallen asleep');

    const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    assert.equal(sampleSum(metrics, 'breakwater_request_duration_seconds_count', { cold: 'true' }), 2);
    assert.equal(sampleSum(metrics, 'breakwater_request_duration_seconds_count', { cold: 'false' }), 1);

    const usage = await fetch(`${gw.url}/admin/usage?group_by=cold`, { headers: { authorization: `Bearer ${gw.adminKey}` } });
    assert.equal(usage.status, 200);
    const groups = ((await usage.json()) as { data: Array<{ cold: string; requests: number }> }).data;
    assert.deepEqual(Object.fromEntries(groups.map((g) => [g.cold, g.requests])), { true: 2, false: 1 });

    gw.app.logger.flush();
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'request' && line.path === '/v1/chat/completions');
    assert.deepEqual(logged.map((line) => line.cold), [true, undefined, true]);
    assert.equal(logged[0]!.initMs, first.initMs);
  });

  it('keep-warm pings every 30 s: an upstream that sleeps after 60 s idle serves no cold request', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const upstream = await startSleepyUpstream(clock);
    cleanups.push(() => new Promise((resolve) => upstream.server.close(resolve)));
    const gw = await startTestGateway({ configYaml: configFor(upstream.baseUrl, { keepWarm: true, warmUp: true }), clock });
    cleanups.push(() => gw.close());
    await warmedUp(gw, clock);
    assert.equal(upstream.pings, 1, 'warmed up once after ready');

    const records: RequestRecord[] = [];
    records.push(await ledgerRow(gw, await completeChat(gw, 'chat')));
    for (let round = 0; round < 3; round++) {
      await idle(gw, clock, 150_000);
      records.push(await ledgerRow(gw, await completeChat(gw, 'chat')));
    }
    assert.equal(upstream.pings, 1 + 15, 'one ping per 30 s');
    assert.equal(upstream.completionsServedAsleep, 0);
    assert.deepEqual(records.map((r) => r.cold ?? false), [false, false, false, false]);
  });

  it('keep-warm on a cron schedule pings at each matching minute, on the injected clock', async () => {
    // 1_700_000_000_000 is 22:13:20 UTC: an every-minute schedule pings at 22:14:00, then every 60 s.
    const clock = new ManualClock(1_700_000_000_000);
    const upstream = await startSleepyUpstream(clock);
    cleanups.push(() => new Promise((resolve) => upstream.server.close(resolve)));
    const gw = await startTestGateway({ configYaml: configFor(upstream.baseUrl, { keepWarm: '* * * * *', warmUp: true }), clock });
    cleanups.push(() => gw.close());
    await warmedUp(gw, clock);
    assert.equal(upstream.pings, 1, 'warmed up once after ready');
    await idle(gw, clock, 39_000, 1_000);
    assert.equal(upstream.pings, 1, 'nothing before the minute turns');
    await idle(gw, clock, 2_000, 1_000);
    assert.equal(upstream.pings, 2, 'a ping at 22:14:00');
    await idle(gw, clock, 120_000);
    assert.equal(upstream.pings, 4, 'then one per minute');
  });

  it('a keep-warm cron schedule that cannot fire is a config error naming the field', async () => {
    await assert.rejects(
      startTestGateway({ configYaml: configFor('http://127.0.0.1:9/v1', { keepWarm: '0 0 30 2 *', warmUp: false }) }),
      /providers\.sleepy\.keepWarm\.cron[\s\S]*never fires/,
    );
  });

  it('without keep-warm the same idle periods give cold requests, even after warm-up', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const upstream = await startSleepyUpstream(clock);
    cleanups.push(() => new Promise((resolve) => upstream.server.close(resolve)));
    const gw = await startTestGateway({ configYaml: configFor(upstream.baseUrl, { warmUp: true }), clock });
    cleanups.push(() => gw.close());
    await warmedUp(gw, clock);

    const records: RequestRecord[] = [];
    records.push(await ledgerRow(gw, await completeChat(gw, 'chat')));
    for (let round = 0; round < 3; round++) {
      await idle(gw, clock, 150_000);
      records.push(await ledgerRow(gw, await completeChat(gw, 'chat')));
    }
    assert.equal(upstream.pings, 1, 'only the warm-up ping');
    assert.equal(upstream.completionsServedAsleep, 3);
    assert.deepEqual(records.map((r) => r.cold ?? false), [false, true, true, true], 'warm-up made the first request warm; each after idling is cold');
  });

  it('a run records which of its LLM calls were cold, with their init time (SPEC CS-3)', async () => {
    const twoCalls = defineAgent({
      name: 'two-calls',
      async run(ctx) {
        const first = await ctx.llm({ model: 'sim-fast', messages: [{ role: 'user', content: 'one' }] });
        const second = await ctx.llm({ model: 'sim-fast', messages: [{ role: 'user', content: 'two' }] });
        return { cold: [first.cold ?? false, second.cold ?? false], initMs: [first.initMs, second.initMs] };
      },
    });
    const gw = await startTestGateway({ agents: [twoCalls] });
    cleanups.push(() => gw.close());
    await gw.app.warmUp.done;
    const client = runClient(gw.url, gw.key);
    const run = await client.finish((await client.create('two-calls', {})).id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.deepEqual(run.result, { cold: [true, false], initMs: [0, null] }, 'the in-process sim has no connection to set up');
  });

  it('GET /v1/runs shows a run cold with the init time of its cold calls, counted once across a replay; a warm run warm (SPEC CS-3)', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const upstream = await startSleepyUpstream(clock);
    cleanups.push(() => new Promise((resolve) => upstream.server.close(resolve)));
    // The run parks between its calls, so the worker that resumes it replays the first from the journal.
    const callParkCall = defineAgent({
      name: 'call-park-call',
      async run(ctx) {
        const first = await ctx.llm({ model: 'chat', messages: [{ role: 'user', content: 'one' }] });
        await ctx.waitFor({ signal: 'go' });
        const second = await ctx.llm({ model: 'chat', messages: [{ role: 'user', content: 'two' }] });
        return [first.requestId, second.requestId];
      },
    });
    const gw = await startTestGateway({ configYaml: configFor(upstream.baseUrl, { warmUp: false }), clock, agents: [callParkCall] });
    cleanups.push(() => gw.close());
    const client = runClient(gw.url, gw.key);

    const runThrough = async () => {
      const { id } = await client.create('call-park-call', {});
      await client.events(id, { stop: (event) => event.event === 'run.waiting' });
      assert.equal((await client.post(`/v1/runs/${id}/signals/go`, {})).status, 202);
      const ended = await client.finish(id);
      assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
      return ended;
    };

    const cold = await runThrough();
    const [first, second] = await Promise.all((cold.result as string[]).map((id) => ledgerRow(gw, id)));
    assert.deepEqual([first!.cold, second!.cold], [true, undefined], 'only the first call found the upstream cold');
    assert.ok(first!.initMs! > 0, `it set up a connection: initMs ${first!.initMs}`);
    assert.deepEqual([cold.cold, cold.init_ms], [true, first!.initMs], 'the run adds the cold call once, not again for its replay');

    const warm = await runThrough();
    assert.deepEqual([warm.cold, warm.init_ms], [false, 0], 'both calls found the upstream warm');

    const listed = (await client.get('/v1/runs?limit=10')).body.data as Array<{ id: string; cold: boolean; init_ms: number }>;
    assert.deepEqual(
      listed.map((r) => [r.id, r.cold, r.init_ms]).sort(),
      [[cold.id, true, first!.initMs], [warm.id, false, 0]].sort(),
    );
  });
});
