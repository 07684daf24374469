import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { ManualClock } from '../src/core/clock.js';
import { BreakwaterError } from '../src/core/errors.js';
import type { CallContext } from '../src/core/provider.js';
import type { CanonicalRequest, CanonicalResponse, JsonObject, StreamPart, TextDeltaPart } from '../src/core/types.js';
import { createSimAdapter, type SimAdapter } from '../src/sim/sim-adapter.js';
import { collectSimResponse } from '../src/sim/sim-collect.js';
import { createSimEngine } from '../src/sim/sim-engine.js';
import { parseSimFault } from '../src/sim/sim-fault.js';
import { getSimModel, SIM_MODELS } from '../src/sim/sim-models.js';
import type { SimAnswerPlan, SimPlan } from '../src/sim/sim-plan.js';
import { REFUSAL_TEXT } from '../src/sim/sim-text.js';
import { countSimTokens, splitSimTokens } from '../src/sim/sim-tokenizer.js';

const TIMEOUTS = { connectMs: 10_000, headersMs: 30_000, firstTokenMs: 30_000, idleMs: 30_000, totalMs: 600_000 };

function ask(text: string, extra: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'sim-fast', messages: [{ role: 'user', content: [{ type: 'text', text }] }], stream: false, ...extra };
}

function answer(plan: SimPlan): SimAnswerPlan {
  assert.equal(plan.kind, 'answer', `expected an answer, got ${plan.kind}`);
  return plan as SimAnswerPlan;
}

function textOf(res: CanonicalResponse): string {
  return res.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function planResponse(plan: SimPlan): CanonicalResponse {
  return collectSimResponse(answer(plan).parts, 0);
}

function context(clock: ManualClock, overrides: Partial<CallContext> = {}): CallContext {
  return { upstreamModel: 'sim-fast', signal: new AbortController().signal, clock, requestId: 'req_test', timeouts: TIMEOUTS, ...overrides };
}

function adapter(clock = new ManualClock(), seed = 7, timeScale = 1): SimAdapter {
  return createSimAdapter({ id: 'sim', seed, timeScale, clock });
}

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** Tracks a promise so a test can see whether it settled before the clock reached a boundary. */
function track<T>(promise: Promise<T>): { settled: () => boolean; result: Promise<T> } {
  let done = false;
  const result = promise.finally(() => {
    done = true;
  });
  result.catch(() => undefined);
  return { settled: () => done, result };
}

const ORDER_SCHEMA: JsonObject = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status', 'customer', 'items', 'total', 'gift'],
  properties: {
    id: { type: 'string', minLength: 12 },
    status: { type: 'string', enum: ['pending', 'paid', 'shipped'] },
    customer: { $ref: '#/$defs/customer' },
    items: {
      type: 'array',
      minItems: 2,
      maxItems: 4,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity', 'price'],
        properties: {
          sku: { type: 'string', maxLength: 8 },
          quantity: { type: 'integer', minimum: 1, maximum: 9 },
          price: { type: 'number', exclusiveMinimum: 0, maximum: 500 },
        },
      },
    },
    total: { type: 'number', minimum: 0 },
    gift: { type: 'boolean' },
    note: { type: ['string', 'null'] },
  },
  $defs: {
    customer: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'tier'],
      properties: { name: { type: 'string' }, tier: { type: 'integer', multipleOf: 5, minimum: 5, maximum: 50 } },
    },
  },
};

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    additionalProperties: false,
    required: ['city', 'unit'],
    properties: {
      city: { type: 'string', minLength: 2 },
      unit: { type: 'string', enum: ['c', 'f'] },
      days: { type: 'integer', minimum: 1, maximum: 7 },
    },
  },
};
const SEARCH_TOOL = {
  name: 'search',
  parameters: { type: 'object', required: ['query'], properties: { query: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 10 } } },
};

describe('sim models', () => {
  it('has the five models with prices, limits and capabilities, frozen', () => {
    assert.deepEqual(Object.keys(SIM_MODELS).sort(), ['sim-embed', 'sim-fast', 'sim-reasoning', 'sim-slow', 'sim-smart']);
    assert.equal(getSimModel('sim-fast@503')?.name, 'sim-fast');
    assert.equal(getSimModel('gpt-4o'), undefined);
    assert.ok(getSimModel('sim-reasoning')!.capabilities.includes('reasoning'));
    assert.equal(getSimModel('sim-embed')!.dimensions, 256);
    assert.ok(getSimModel('sim-smart')!.prices.input > getSimModel('sim-fast')!.prices.input);
    assert.throws(() => {
      (SIM_MODELS['sim-fast'] as { ttftMs: number }).ttftMs = 1;
    });
  });
});

describe('sim engine: content', () => {
  it('is deterministic: the same seed gives the same text and usage, another seed differs', () => {
    const a = planResponse(createSimEngine({ seed: 1 }).plan(ask('Tell me about gateways')));
    const b = planResponse(createSimEngine({ seed: 1 }).plan(ask('Tell me about gateways')));
    const c = planResponse(createSimEngine({ seed: 2 }).plan(ask('Tell me about gateways')));
    assert.equal(textOf(a), textOf(b));
    assert.deepEqual(a.usage, b.usage);
    assert.notEqual(textOf(a), textOf(c));
    assert.match(textOf(a), /^[A-Z][^]*\.$/);
    assert.equal(a.usage.outputTokens, countSimTokens(textOf(a)));
  });

  it('honours max_tokens with finish length and exactly that many output tokens', () => {
    const res = planResponse(createSimEngine({ seed: 3 }).plan(ask('Write 300 words about caching', { maxTokens: 17 })));
    assert.equal(res.finishReason, 'length');
    assert.equal(res.usage.outputTokens, 17);
    assert.equal(countSimTokens(textOf(res)), 17);
  });

  it('takes "N words" as the answer length', () => {
    const res = planResponse(createSimEngine({ seed: 3 }).plan(ask('Write 400 words about caching')));
    assert.equal(res.finishReason, 'stop');
    assert.ok(res.usage.outputTokens >= 400 && res.usage.outputTokens < 430, String(res.usage.outputTokens));
  });

  it('stops before the earliest stop sequence with finish stop', () => {
    const full = textOf(planResponse(createSimEngine({ seed: 4 }).plan(ask('Explain retries'))));
    const stopWord = splitSimTokens(full)[12]!.trim();
    const res = planResponse(createSimEngine({ seed: 4 }).plan(ask('Explain retries', { stop: ['zzz-never', stopWord] })));
    assert.equal(res.finishReason, 'stop');
    assert.equal(res.stopSequence, stopWord);
    assert.equal(textOf(res), full.slice(0, full.indexOf(stopWord)));
    assert.equal(res.usage.outputTokens, countSimTokens(textOf(res)));
  });

  it('answers json_schema requests with JSON valid against a non-trivial schema, for many seeds', () => {
    const validate = new Ajv({ strict: false }).compile(ORDER_SCHEMA);
    for (let seed = 0; seed < 40; seed++) {
      const request = ask('Make an order', { responseFormat: { type: 'json_schema', name: 'order', schema: ORDER_SCHEMA, strict: true } });
      const text = textOf(planResponse(createSimEngine({ seed }).plan(request)));
      assert.ok(validate(JSON.parse(text)), `seed ${seed}: ${text} ${JSON.stringify(validate.errors)}`);
    }
  });

  it('answers json_object requests with a JSON object', () => {
    const text = textOf(planResponse(createSimEngine({ seed: 5 }).plan(ask('JSON please', { responseFormat: { type: 'json_object' } }))));
    const value = JSON.parse(text);
    assert.equal(typeof value, 'object');
    assert.ok(!Array.isArray(value) && value !== null);
  });

  it('calls a tool with schema-valid arguments, honours tool_choice, answers text after a tool result', () => {
    const validate = new Ajv({ strict: false }).compile(WEATHER_TOOL.parameters);
    for (let seed = 0; seed < 20; seed++) {
      const request = ask('Weather in Paris?', { tools: [WEATHER_TOOL, SEARCH_TOOL], toolChoice: { name: 'get_weather' } });
      const res = planResponse(createSimEngine({ seed }).plan(request));
      assert.equal(res.finishReason, 'tool_calls');
      const call = res.content.find((part) => part.type === 'tool-call');
      assert.ok(call && call.type === 'tool-call' && call.name === 'get_weather');
      assert.ok(validate(JSON.parse(call.arguments)), call.arguments);
      assert.equal(res.usage.outputTokens, countSimTokens(call.name) + countSimTokens(call.arguments));
    }
    const none = planResponse(createSimEngine({ seed: 1 }).plan(ask('Weather?', { tools: [WEATHER_TOOL], toolChoice: 'none' })));
    assert.equal(none.finishReason, 'stop');
    const followUp: CanonicalRequest = {
      model: 'sim-fast',
      stream: false,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
        { role: 'assistant', content: [{ type: 'tool-call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: [{ type: 'text', text: '21C, sunny' }] }] },
      ],
    };
    const after = planResponse(createSimEngine({ seed: 1 }).plan(followUp));
    assert.equal(after.finishReason, 'stop');
    assert.ok(textOf(after).length > 0);
  });

  it('streams text in several deltas and tool arguments in fragments', () => {
    const text = answer(createSimEngine({ seed: 1 }).plan(ask('Hello')));
    assert.ok(text.parts.filter((p) => p.type === 'text-delta').length > 5);
    assert.deepEqual(
      text.parts.map((p) => p.type).filter((t, i, all) => all.indexOf(t) === i),
      ['start', 'usage', 'text-delta', 'finish'],
    );
    const tool = answer(createSimEngine({ seed: 1 }).plan(ask('Weather?', { tools: [WEATHER_TOOL] })));
    assert.ok(tool.parts.filter((p) => p.type === 'tool-call-delta').length >= 2);
  });

  it('has the reasoning model think first and report reasoning tokens', () => {
    const plan = answer(createSimEngine({ seed: 1 }).plan(ask('Why?', { model: 'sim-reasoning' })));
    const kinds = plan.parts.filter((p) => p.type === 'reasoning-delta' || p.type === 'text-delta').map((p) => p.type);
    assert.equal(kinds[0], 'reasoning-delta');
    assert.ok(kinds.lastIndexOf('reasoning-delta') < kinds.indexOf('text-delta'));
    const res = collectSimResponse(plan.parts, 0);
    const reasoning = res.content.find((p) => p.type === 'reasoning');
    assert.ok(reasoning && reasoning.type === 'reasoning' && reasoning.signature);
    assert.equal(res.usage.reasoningTokens, countSimTokens(reasoning.text));
    assert.equal(res.usage.outputTokens, countSimTokens(reasoning.text) + countSimTokens(textOf(res)));
  });

  it('times parts from TTFT and speed, scaled by timeScale (0 = instant)', () => {
    const real = answer(createSimEngine({ seed: 1 }).plan(ask('Hi'), { timeScale: 1 }));
    const first = real.parts.findIndex((p) => p.type === 'text-delta');
    assert.ok(real.timing[first]! >= 135 && real.timing[first]! <= 165, String(real.timing[first]));
    const rest = real.timing.slice(first + 1).reduce((a, b) => a + b, 0);
    const tokens = real.parts.slice(first + 1).reduce((n, p) => n + (p.type === 'text-delta' ? countSimTokens(p.text) : 0), 0);
    assert.ok(Math.abs(rest - (tokens * 1000) / 120) < (tokens * 1000) / 120 / 5);
    const instant = answer(createSimEngine({ seed: 1 }).plan(ask('Hi'), { timeScale: 0 }));
    assert.ok(instant.timing.every((ms) => ms === 0));
  });

  it('counts input over every message and refuses prompts past the context window', () => {
    const engine = createSimEngine({ seed: 1 });
    const small = planResponse(engine.plan(ask('one two three')));
    const bigger = planResponse(engine.plan(ask('one two three four five six')));
    assert.equal(bigger.usage.inputTokens - small.usage.inputTokens, 3);
    const huge = engine.plan(ask('word '.repeat(33_000), { model: 'sim-slow' }));
    assert.equal(huge.kind, 'http-error');
    assert.equal(huge.kind === 'http-error' && huge.errorCode, 'context_length_exceeded');
  });

  it('reports cache reads for a repeated long prefix', () => {
    const engine = createSimEngine({ seed: 1 });
    const prefix = { role: 'system' as const, content: [{ type: 'text' as const, text: 'policy '.repeat(1200) }] };
    const request = (q: string): CanonicalRequest => ({
      model: 'sim-fast',
      stream: false,
      messages: [prefix, { role: 'user', content: [{ type: 'text', text: q }] }],
    });
    assert.equal(planResponse(engine.plan(request('first'))).usage.cacheReadTokens, undefined);
    const second = planResponse(engine.plan(request('second')));
    assert.ok(second.usage.cacheReadTokens! > 1200 && second.usage.cacheReadTokens! < second.usage.inputTokens);
  });

  it('embeds deterministically into unit vectors where shared words score closer', () => {
    const engine = createSimEngine({ seed: 1 });
    const plan = engine.planEmbeddings({ model: 'sim-embed', input: ['the cat sat on the mat', 'a cat sat on a mat', 'quarterly revenue grew'] });
    assert.equal(plan.kind, 'embeddings');
    if (plan.kind !== 'embeddings') return;
    const [a, b, c] = plan.response.embeddings as [number[], number[], number[]];
    const dot = (x: number[], y: number[]) => x.reduce((sum, v, i) => sum + v * y[i]!, 0);
    assert.equal(a.length, 256);
    assert.ok(Math.abs(dot(a, a) - 1) < 1e-9);
    assert.ok(dot(a, b) > dot(a, c) + 0.3);
    const again = createSimEngine({ seed: 9 }).planEmbeddings({ model: 'sim-embed', input: ['the cat sat on the mat'] });
    assert.deepEqual(again.kind === 'embeddings' && again.response.embeddings[0], a);
    assert.throws(() => engine.plan(ask('hi', { model: 'sim-embed' })), /only serves embeddings/);
  });
});

describe('sim faults: parsing', () => {
  it('parses every fault of SPEC SIM-10 with its parameters', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['429', { kind: 'http', status: 429 }],
      ['429:retry-after=2', { kind: 'http', status: 429, retryAfterMs: 2000 }],
      ['500', { kind: 'http', status: 500 }],
      ['502', { kind: 'http', status: 502 }],
      ['503', { kind: 'http', status: 503 }],
      ['529', { kind: 'http', status: 529 }],
      ['reset', { kind: 'reset' }],
      ['hang', { kind: 'hang' }],
      ['slow-first-token:ms=5000', { kind: 'slow-first-token', ms: 5000 }],
      ['cut:after=10', { kind: 'cut', after: 10 }],
      ['stall:after=5', { kind: 'stall', after: 5 }],
      ['malformed:at=3', { kind: 'malformed', at: 3 }],
      ['no-terminator', { kind: 'no-terminator' }],
      ['context-length', { kind: 'context-length' }],
      ['content-policy', { kind: 'content-policy' }],
      ['empty', { kind: 'empty' }],
      ['truncated', { kind: 'truncated' }],
      ['invalid-json', { kind: 'invalid-json' }],
      ['refusal', { kind: 'refusal' }],
      ['bad-tool-args', { kind: 'bad-tool-args', mode: 'json' }],
      ['bad-tool-args:mode=schema', { kind: 'bad-tool-args', mode: 'schema' }],
      ['503:p=0.3', { kind: 'http', status: 503, p: 0.3 }],
      ['503:times=2', { kind: 'http', status: 503, times: 2 }],
      ['503:p=0.5;times=3', { kind: 'http', status: 503, p: 0.5, times: 3 }],
    ];
    for (const [spec, expected] of cases) {
      const [fault, ...rest] = parseSimFault(spec);
      assert.equal(rest.length, 0, spec);
      for (const [key, value] of Object.entries(expected)) assert.equal(fault![key as keyof typeof fault], value, `${spec} ${key}`);
      assert.equal(fault!.spec, spec);
    }
    assert.deepEqual(parseSimFault(' 429 , cut:after=2 ').map((f) => f.kind), ['http', 'cut']);
  });

  it('rejects bad specs with invalid_request errors that say what is accepted', () => {
    const bad = ['teapot', '200', '429:retry=2', 'cut:after=-1', '503:p=2', '503:times=0', 'bad-tool-args:mode=xml', 'cut:after'];
    for (const spec of bad) {
      assert.throws(
        () => parseSimFault(spec),
        (error: unknown) =>
          error instanceof BreakwaterError && error.code === 'invalid_request' && error.param === 'x-sim-fault' && /known faults: 429/.test(error.message),
        spec,
      );
    }
  });
});

describe('sim faults: engine behaviour', () => {
  it('shapes error bodies like the provider of the dialect', () => {
    const engine = createSimEngine({ seed: 1 });
    const openai = engine.plan(ask('hi'), { faultSpec: 'content-policy' });
    assert.ok(openai.kind === 'http-error');
    assert.deepEqual((openai.body.error as JsonObject).code, 'content_policy_violation');
    const context = engine.plan(ask('hi'), { faultSpec: 'context-length' });
    assert.ok(context.kind === 'http-error' && (context.body.error as JsonObject).code === 'context_length_exceeded');
    const anthropic = engine.plan(ask('hi'), { faultSpec: '529', dialect: 'anthropic' });
    assert.ok(anthropic.kind === 'http-error' && anthropic.status === 529);
    assert.equal(anthropic.body.type, 'error');
    assert.equal((anthropic.body.error as JsonObject).type, 'overloaded_error');
    const limited = engine.plan(ask('hi'), { faultSpec: '429:retry-after=2' });
    assert.ok(limited.kind === 'http-error' && limited.headers['retry-after'] === '2');
    const noHeader = engine.plan(ask('hi'), { faultSpec: '429' });
    assert.ok(noHeader.kind === 'http-error' && noHeader.headers['retry-after'] === undefined);
  });

  it('fires times=2 on the first two matching requests per model, then is healthy', () => {
    const engine = createSimEngine({ seed: 1 });
    const kinds = [1, 2, 3, 4].map(() => engine.plan(ask('hi'), { model: 'sim-fast@503:times=2' }).kind);
    assert.deepEqual(kinds, ['http-error', 'http-error', 'answer', 'answer']);
    assert.equal(engine.plan(ask('hi'), { model: 'sim-smart@503:times=2' }).kind, 'http-error');
    assert.deepEqual(engine.getJournal().map((e) => e.status), [503, 503, 200, 200, 503]);
  });

  it('rolls p= dice deterministically by seed', () => {
    const pattern = (seed: number) => {
      const engine = createSimEngine({ seed });
      return Array.from({ length: 60 }, () => (engine.plan(ask('hi'), { faultSpec: '503:p=0.3' }).kind === 'http-error' ? 1 : 0)).join('');
    };
    assert.equal(pattern(11), pattern(11));
    assert.notEqual(pattern(11), pattern(12));
    const fired = [...pattern(11)].filter((c) => c === '1').length;
    assert.ok(fired > 8 && fired < 30, String(fired));
  });

  it('applies runtime faults to later calls of the scoped model only', () => {
    const engine = createSimEngine({ seed: 1 });
    engine.setFaults('500:times=1', { model: 'sim-smart' });
    assert.equal(engine.plan(ask('hi')).kind, 'answer');
    assert.equal(engine.plan(ask('hi', { model: 'sim-smart' })).kind, 'http-error');
    assert.equal(engine.plan(ask('hi', { model: 'sim-smart' })).kind, 'answer');
    engine.setFaults('reset');
    engine.clearFaults();
    assert.equal(engine.plan(ask('hi')).kind, 'answer');
  });

  it('produces the wrong 200s: empty, truncated, invalid JSON, refusal, bad tool arguments', () => {
    const engine = createSimEngine({ seed: 1 });
    const empty = planResponse(engine.plan(ask('hi'), { faultSpec: 'empty' }));
    assert.equal(textOf(empty), '');
    assert.equal(empty.usage.outputTokens, 0);
    const truncated = planResponse(engine.plan(ask('hi'), { faultSpec: 'truncated' }));
    assert.equal(truncated.finishReason, 'length');
    assert.doesNotMatch(textOf(truncated), /[.!?]$/);
    const broken = planResponse(engine.plan(ask('hi', { responseFormat: { type: 'json_object' } }), { faultSpec: 'invalid-json' }));
    assert.throws(() => JSON.parse(textOf(broken)));
    assert.equal(textOf(planResponse(engine.plan(ask('hi'), { faultSpec: 'refusal' }))), REFUSAL_TEXT);
    const tools = { tools: [WEATHER_TOOL] };
    const badJson = planResponse(engine.plan(ask('hi', tools), { faultSpec: 'bad-tool-args' }));
    const call = badJson.content.find((p) => p.type === 'tool-call');
    assert.ok(call?.type === 'tool-call');
    assert.throws(() => JSON.parse(call.arguments));
    const badSchema = planResponse(engine.plan(ask('hi', tools), { faultSpec: 'bad-tool-args:mode=schema' }));
    const schemaCall = badSchema.content.find((p) => p.type === 'tool-call');
    assert.ok(schemaCall?.type === 'tool-call');
    assert.equal(new Ajv({ strict: false }).validate(WEATHER_TOOL.parameters, JSON.parse(schemaCall.arguments)), false);
  });

  it('sets wire modifiers for stream faults', () => {
    const engine = createSimEngine({ seed: 1 });
    const plan = answer(engine.plan(ask('hi'), { faultSpec: 'cut:after=4,malformed:at=2,no-terminator,slow-first-token:ms=900', timeScale: 1 }));
    assert.equal(plan.cutAfterChunks, 4);
    assert.equal(plan.malformedAtChunk, 2);
    assert.equal(plan.omitTerminator, true);
    assert.equal(plan.timing[plan.parts.findIndex((p) => p.type === 'text-delta')], 900);
    assert.equal(plan.journal.outcome, 'malformed');
    assert.equal(answer(engine.plan(ask('hi'), { faultSpec: 'stall:after=5' })).stallAfterChunks, 5);
  });
});

describe('sim adapter', () => {
  it('returns the same text and usage streamed and not, without waiting at timeScale 0', async () => {
    const sim = adapter(new ManualClock(), 7, 0);
    const request = ask('Summarise the plan', { model: 'sim-reasoning' });
    const ctx = context(new ManualClock(), { upstreamModel: 'sim-reasoning' });
    const whole = await sim.generate(request, ctx);
    const streamed = collectSimResponse(await collect(sim.stream(request, ctx)), whole.created!);
    assert.equal(textOf(streamed), textOf(whole));
    assert.deepEqual(streamed.usage, whole.usage);
    assert.ok(whole.usage.reasoningTokens! > 0);
    assert.deepEqual(await sim.listModels!({ signal: new AbortController().signal }), Object.keys(SIM_MODELS));
  });

  it('waits TTFT and generation time on the clock', async () => {
    const clock = new ManualClock();
    const sim = adapter(clock, 7, 1);
    const pending = track(sim.generate(ask('hi'), context(clock)));
    await clock.advance(100);
    assert.equal(pending.settled(), false);
    await clock.advance(10_000);
    assert.equal(pending.settled(), true);
    assert.ok(textOf(await pending.result).length > 0);
  });

  it('throws classified errors for status, reset, context-length and content-policy faults', async () => {
    const clock = new ManualClock();
    const sim = adapter(clock);
    const expectations: Array<[string, string, Record<string, unknown>]> = [
      ['429:retry-after=2', 'rate_limited', { upstreamStatus: 429, retryAfterMs: 2000, provider: 'sim' }],
      ['500', 'upstream_error', { upstreamStatus: 500 }],
      ['502', 'upstream_error', { upstreamStatus: 502 }],
      ['503', 'upstream_unavailable', { upstreamStatus: 503 }],
      ['529', 'upstream_unavailable', { upstreamStatus: 529 }],
      ['reset', 'upstream_error', { reason: 'connection_reset' }],
      ['context-length', 'context_length_exceeded', { upstreamStatus: 400 }],
      ['content-policy', 'content_policy_violation', { upstreamStatus: 400 }],
    ];
    for (const [fault, code, details] of expectations) {
      await assert.rejects(sim.generate(ask('hi'), context(clock, { headers: { 'X-Sim-Fault': fault } })), (error: unknown) => {
        assert.ok(error instanceof BreakwaterError, fault);
        assert.equal(error.code, code, fault);
        for (const [key, value] of Object.entries(details)) assert.equal(error.details[key as keyof typeof error.details], value, `${fault} ${key}`);
        return true;
      });
    }
    assert.equal(sim.getJournal().length, expectations.length);
    sim.clearJournal();
    assert.equal(sim.getJournal().length, 0);
  });

  it('reads the fault suffix from the upstream or requested model, counting a repeated spec once', async () => {
    const clock = new ManualClock();
    const sim = adapter(clock, 7, 0);
    const flaky = ask('hi', { model: 'sim-fast@500:times=1' });
    const ctx = context(clock, { upstreamModel: 'sim-fast@500:times=1' });
    await assert.rejects(sim.generate(flaky, ctx), (e: unknown) => e instanceof BreakwaterError && e.details.upstreamStatus === 500);
    assert.equal((await sim.generate(flaky, ctx)).finishReason, 'stop');
    await assert.rejects(sim.generate(ask('hi', { model: 'alias@503' }), context(clock)), (e: unknown) => e instanceof BreakwaterError && e.code === 'upstream_unavailable');
  });

  it('times out a hang at the headers limit, not before', async () => {
    const clock = new ManualClock();
    const timeouts = { ...TIMEOUTS, headersMs: 5_000 };
    const pending = track(adapter(clock).generate(ask('hi'), context(clock, { timeouts, upstreamModel: 'sim-fast@hang' })));
    await clock.advance(4_999);
    assert.equal(pending.settled(), false);
    await clock.advance(1);
    await assert.rejects(
      pending.result,
      (e: unknown) => e instanceof BreakwaterError && e.code === 'upstream_timeout' && e.details.reason === 'headers_timeout',
    );
  });

  it('times out a slow first token at exactly firstTokenMs, and lets it through under the limit', async () => {
    const clock = new ManualClock();
    const sim = adapter(clock, 7, 0);
    const timeouts = { ...TIMEOUTS, firstTokenMs: 2_000 };
    const headers = { 'x-sim-fault': 'slow-first-token:ms=5000' };
    const iterator = sim.stream(ask('hi'), context(clock, { timeouts, headers }))[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.type, 'start');
    assert.equal((await iterator.next()).value?.type, 'usage');
    const next = track(iterator.next());
    await clock.advance(1_999);
    assert.equal(next.settled(), false);
    await clock.advance(1);
    await assert.rejects(next.result, (e: unknown) => e instanceof BreakwaterError && e.details.reason === 'first_token_timeout');
    const ok = track(sim.generate(ask('hi'), context(clock, { headers: { 'x-sim-fault': 'slow-first-token:ms=1500' }, timeouts })));
    await clock.advance(1_499);
    assert.equal(ok.settled(), false);
    await clock.advance(1);
    assert.equal((await ok.result).finishReason, 'stop');
  });

  it('cuts after n chunks, fails on a malformed chunk, and idles out a stall', async () => {
    const clock = new ManualClock();
    const sim = adapter(clock, 7, 0);
    const contentCount = (parts: StreamPart[]) => parts.filter((p) => p.type === 'text-delta').length;
    const seen: StreamPart[] = [];
    const drain = async (fault: string, timeouts = TIMEOUTS) => {
      seen.length = 0;
      for await (const part of sim.stream(ask('hi'), context(clock, { headers: { 'x-sim-fault': fault }, timeouts }))) seen.push(part);
    };
    await assert.rejects(drain('cut:after=3'), (e: unknown) => e instanceof BreakwaterError && e.details.reason === 'connection_reset');
    assert.equal(contentCount(seen), 3);
    await assert.rejects(drain('malformed:at=2'), (e: unknown) => e instanceof BreakwaterError && e.details.reason === 'malformed_chunk');
    assert.equal(contentCount(seen), 1);
    const stalled = track(drain('stall:after=2', { ...TIMEOUTS, idleMs: 3_000 }));
    await clock.advance(2_999);
    assert.equal(stalled.settled(), false);
    assert.equal(contentCount(seen), 2);
    await clock.advance(1);
    await assert.rejects(stalled.result, (e: unknown) => e instanceof BreakwaterError && e.details.reason === 'idle_timeout');
    await drain('no-terminator');
    assert.equal(seen.at(-1)?.type, 'finish');
    assert.deepEqual(sim.getJournal().map((e) => e.outcome), ['cut', 'malformed', 'timeout', 'ok']);
  });

  it('aborts with the signal and embeds through the adapter', async () => {
    const clock = new ManualClock();
    const sim = adapter(clock);
    const controller = new AbortController();
    const pending = track(sim.generate(ask('hi'), context(clock, { signal: controller.signal, upstreamModel: 'sim-fast@hang' })));
    controller.abort();
    await assert.rejects(pending.result, (e: unknown) => e instanceof BreakwaterError && e.details.reason === 'aborted');
    assert.equal(sim.getJournal()[0]!.outcome, 'aborted');
    const embedded = track(sim.embed!({ model: 'sim-embed', input: ['hello'] }, context(clock, { upstreamModel: 'sim-embed' })));
    await clock.advance(1_000);
    assert.equal((await embedded.result).embeddings[0]!.length, 256);
  });

  it('streams deltas whose text adds up to the collected answer', async () => {
    const sim = adapter(new ManualClock(), 3, 0);
    const parts = await collect(sim.stream(ask('hi'), context(new ManualClock())));
    const text = parts.filter((p): p is TextDeltaPart => p.type === 'text-delta').map((p) => p.text).join('');
    const finish = parts.at(-1);
    assert.ok(finish?.type === 'finish' && finish.usage?.outputTokens === countSimTokens(text));
  });
});
