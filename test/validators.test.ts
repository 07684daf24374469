import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createSeededRandom, ManualClock } from '../src/core/clock.js';
import { BreakwaterError } from '../src/core/errors.js';
import type { CallContext } from '../src/core/provider.js';
import type { CanonicalRequest, CanonicalResponse, JsonObject, ToolDefinition } from '../src/core/types.js';
import { validatorSchema, type ValidatorConfig } from '../src/config/schema.js';
import { createSimAdapter } from '../src/sim/sim-adapter.js';
import { simSentence } from '../src/sim/sim-text.js';
import { checkValidatorConfig, createValidators, validatorNames } from '../src/validation/create-validators.js';
import { createCustomValidator, importCustomValidator, type CustomValidatorFn } from '../src/validation/custom-validator.js';
import { createDegenerationGuard } from '../src/validation/degeneration-guard.js';
import { createJsonSchemaCache, sharedJsonSchemaCache } from '../src/validation/json-schema-cache.js';
import { createJsonSchemaValidator, createJsonValidator, createToolArgsValidator } from '../src/validation/json-validators.js';
import { runValidators } from '../src/validation/run-validators.js';
import {
  createDenyRegexValidator,
  createFinishReasonValidator,
  createMaxCharsValidator,
  createNonEmptyValidator,
  createRefusalValidator,
  createRegexValidator,
} from '../src/validation/text-validators.js';
import type { Validator, Verdict } from '../src/validation/validator.js';

const TIMEOUTS = { connectMs: 10_000, headersMs: 30_000, firstTokenMs: 30_000, idleMs: 30_000, totalMs: 600_000 };

const WEATHER_TOOL: ToolDefinition = {
  name: 'get_weather',
  parameters: {
    type: 'object',
    additionalProperties: false,
    required: ['city'],
    properties: { city: { type: 'string' }, days: { type: 'integer' } },
  },
};

const PERSON_SCHEMA: JsonObject = {
  type: 'object',
  required: ['name', 'age'],
  properties: { name: { type: 'string' }, age: { type: 'integer' } },
};

function ask(extra: Partial<CanonicalRequest> = {}): CanonicalRequest {
  return { model: 'sim-fast', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }], stream: false, ...extra };
}

function answer(text: string, extra: Partial<CanonicalResponse> = {}): CanonicalResponse {
  const content: CanonicalResponse['content'] = text === '' ? [] : [{ type: 'text', text }];
  return { id: 'r1', model: 'm', content, finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 }, ...extra };
}

function toolAnswer(name: string, args: string, text = ''): CanonicalResponse {
  const content: CanonicalResponse['content'] = [];
  if (text) content.push({ type: 'text', text });
  content.push({ type: 'tool-call', id: 'call_1', name, arguments: args });
  return answer('', { content, finishReason: 'tool_calls' });
}

function check(validator: Validator, response: CanonicalResponse, request = ask()): Verdict {
  const verdict = validator.validate(response, request);
  assert.ok(!(verdict instanceof Promise), `${validator.name} is synchronous`);
  return verdict as Verdict;
}

function assertFails(verdict: Verdict, pattern: RegExp): void {
  assert.equal(verdict.ok, false, 'expected a failed verdict');
  assert.ok(verdict.reasons.some((reason) => pattern.test(reason)), `no reason matches ${pattern}: ${JSON.stringify(verdict.reasons)}`);
}

function configs(...raw: unknown[]): ValidatorConfig[] {
  return raw.map((item) => validatorSchema.parse(item));
}

describe('built-in validators', () => {
  it('non_empty fails an answer with neither text nor tool calls, whitespace included', () => {
    const validator = createNonEmptyValidator();
    assert.equal(check(validator, answer('hi')).ok, true);
    assert.equal(check(validator, toolAnswer('get_weather', '{}')).ok, true);
    assert.deepEqual(check(validator, answer('')), { ok: false, reasons: ['empty answer'] });
    assertFails(check(validator, answer(' \n\t')), /^empty answer$/);
    const reasoningOnly = answer('', { content: [{ type: 'reasoning', text: 'thinking hard' }] });
    assertFails(check(validator, reasoningOnly), /^empty answer$/);
  });

  it('json parses trimmed text strictly and rejects fenced JSON', () => {
    const validator = createJsonValidator();
    assert.equal(check(validator, answer('  {"a": 1}\n')).ok, true);
    assert.equal(check(validator, answer('[1, 2]')).ok, true);
    assertFails(check(validator, answer('{"a": 1,')), /^invalid JSON: /);
    assertFails(check(validator, answer('```json\n{"a": 1}\n```')), /^invalid JSON: wrapped in a markdown code fence$/);
    assertFails(check(validator, answer('')), /^invalid JSON: no text$/);
    assert.equal(check(validator, toolAnswer('get_weather', '{}')).ok, true, 'a tool-call answer has no text to be JSON');
  });

  it('json for json_object mode requires an object', () => {
    const validator = createJsonValidator({ requireObject: true });
    assert.equal(check(validator, answer('{"a": 1}')).ok, true);
    assertFails(check(validator, answer('[1]')), /^invalid JSON: expected an object, got array$/);
  });

  it('never quotes more than ~200 characters of model output', () => {
    const long = `{"a": "${'x'.repeat(5_000)}`;
    const reasons = [
      ...check(createJsonValidator(), answer(long)).reasons,
      ...check(createRefusalValidator(), answer(`I'm sorry, but I can't ${'y'.repeat(5_000)}`)).reasons,
      ...check(createDenyRegexValidator('z+'), answer('z'.repeat(5_000))).reasons,
      ...check(createToolArgsValidator(), toolAnswer('get_weather', `{"city": "${'w'.repeat(5_000)}`), ask({ tools: [WEATHER_TOOL] })).reasons,
    ];
    assert.equal(reasons.length, 4);
    for (const reason of reasons) assert.ok(reason.length <= 260, `reason too long (${reason.length}): ${reason.slice(0, 80)}`);
  });

  it('json_schema checks against the configured schema with a path in the reason', () => {
    const validator = createJsonSchemaValidator({ schema: PERSON_SCHEMA });
    assert.equal(check(validator, answer('{"name": "Ada", "age": 36}')).ok, true);
    assert.deepEqual(check(validator, answer('{"name": "Ada", "age": 36.5}')).reasons, ['schema: /age must be integer']);
    assert.deepEqual(check(validator, answer('{"age": 36}')).reasons, ["schema: / must have required property 'name'"]);
    assertFails(check(validator, answer('{"name": ')), /^invalid JSON: /);
  });

  it("json_schema without a configured schema uses the request's, and passes when there is none", () => {
    const validator = createJsonSchemaValidator();
    const request = ask({ responseFormat: { type: 'json_schema', name: 'person', schema: PERSON_SCHEMA } });
    assert.equal(check(validator, answer('{"name": "Ada", "age": 36}'), request).ok, true);
    assertFails(check(validator, answer('{"name": 1, "age": 36}'), request), /^schema: \/name must be string$/);
    assert.equal(check(validator, answer('not json at all')).ok, true);
  });

  it('json_schema accepts draft 2020-12 headers, ignores formats, and does not blame the model for a broken schema', () => {
    const modern = createJsonSchemaValidator({
      schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { at: { type: 'string', format: 'date-time' } } },
    });
    assert.equal(check(modern, answer('{"at": "yesterday"}')).ok, true);
    assertFails(check(modern, answer('{"at": 5}')), /^schema: \/at must be string$/);
    const broken = createJsonSchemaValidator({ schema: { type: 'object', properties: { a: { type: 'string', required: true } } } });
    assert.equal(check(broken, answer('{"a": 5}')).ok, true);
    assertFails(check(broken, answer('{"a": ')), /^invalid JSON/);
  });

  it('finish_reason allows stop and tool_calls by default and explains a cut answer', () => {
    const validator = createFinishReasonValidator();
    assert.equal(check(validator, answer('hi')).ok, true);
    assert.equal(check(validator, toolAnswer('get_weather', '{}')).ok, true);
    assert.deepEqual(check(validator, answer('hi', { finishReason: 'length' })).reasons, ['finish_reason length (answer cut at max_tokens)']);
    assertFails(check(validator, answer('hi', { finishReason: 'other', rawFinishReason: 'pause_turn' })), /^finish_reason other \(upstream said pause_turn\)$/);
    assert.equal(check(createFinishReasonValidator(['stop', 'length']), answer('hi', { finishReason: 'length' })).ok, true);
  });

  it('refusal catches refusal openings and content_filter, not answers that mention one later', () => {
    const validator = createRefusalValidator();
    for (const text of [
      "I'm sorry, but I can't help with that.",
      'I\u2019m sorry, but I cannot do that.',
      '  i CAN\'T HELP WITH this request',
      'As an AI language model, I have no opinions.',
      'I apologize, but I am unable to comply.',
      'Sorry, I can\u2019t share that.',
    ]) {
      assertFails(check(validator, answer(text)), /^refusal: "/);
    }
    assert.deepEqual(check(validator, answer('', { finishReason: 'content_filter' })).reasons, ['refusal: finish_reason content_filter']);
    assert.equal(check(validator, answer('Sure! The answer is 4.')).ok, true);
    assert.equal(check(validator, answer("I can't wait to help with that: here is the plan.")).ok, true);
    assert.equal(check(validator, answer("Here is why a bot might say \"I'm sorry, but I can't\".")).ok, true);
    assert.equal(check(validator, answer("I'm sorry to hear that. Here are three fixes.")).ok, true);
  });

  it('regex must match; deny_regex must not; both ignore g and y state between answers', () => {
    const must = createRegexValidator('^answer:', 'gi');
    assert.equal(check(must, answer('Answer: 4')).ok, true);
    assert.equal(check(must, answer('Answer: 4')).ok, true, 'the same regex matches twice');
    assert.deepEqual(check(must, answer('4')).reasons, ['regex /^answer:/i did not match']);
    const deny = createDenyRegexValidator('sk-[a-z0-9]+', 'g');
    assert.equal(check(deny, answer('no secrets here')).ok, true);
    assert.deepEqual(check(deny, answer('key: sk-abc123 ok')).reasons, ['deny_regex /sk-[a-z0-9]+/ matched "sk-abc123"']);
    assertFails(check(deny, answer('again sk-zzz')), /matched "sk-zzz"/);
  });

  it('max_chars passes at the limit and fails one character past it', () => {
    const validator = createMaxCharsValidator(10);
    assert.equal(check(validator, answer('x'.repeat(10))).ok, true);
    assert.deepEqual(check(validator, answer('x'.repeat(11))).reasons, ['max_chars: 11 characters, more than 10']);
  });

  it('tool_args checks tool names, JSON and the parameters schema of every call', () => {
    const validator = createToolArgsValidator();
    const request = ask({ tools: [WEATHER_TOOL] });
    assert.equal(check(validator, toolAnswer('get_weather', '{"city": "Oslo", "days": 3}'), request).ok, true);
    assertFails(check(validator, toolAnswer('get_weather', '{"city": "Oslo",'), request), /^tool call get_weather: arguments are not valid JSON/);
    assert.deepEqual(check(validator, toolAnswer('get_weather', '{"city": 5}'), request).reasons, ['tool call get_weather: /city must be string']);
    assertFails(check(validator, toolAnswer('get_weather', '{"city": "Oslo", "x": 1}'), request), /must NOT have additional properties \(x\)/);
    assert.deepEqual(check(validator, toolAnswer('get_weather', '[1]'), request).reasons, ['tool call get_weather: arguments are not a JSON object (got array)']);
    assert.deepEqual(check(validator, toolAnswer('send_mail', '{}'), request).reasons, ['tool call send_mail: unknown tool']);
    assertFails(check(validator, toolAnswer('send_mail', '{}')), /unknown tool \(no tools were offered\)/);
    const noArgs: ToolDefinition = { name: 'now', parameters: { type: 'object', properties: {} } };
    assert.equal(check(validator, toolAnswer('now', ''), ask({ tools: [noArgs] })).ok, true, 'empty arguments are {}');
    const two = answer('', {
      content: [
        { type: 'tool-call', id: 'a', name: 'get_weather', arguments: '{"city": 1}' },
        { type: 'tool-call', id: 'b', name: 'nope', arguments: '{}' },
      ],
    });
    assert.equal(check(validator, two, request).reasons.length, 2);
  });
});

describe('custom validators', () => {
  const run = (fn: CustomValidatorFn, timeoutMs = 50) =>
    createCustomValidator({ module: './checks/mine.js', timeoutMs, load: async () => fn }).validate(answer('hi'), ask());

  it('accepts a boolean or a verdict, prefixing reasons with the module', async () => {
    assert.deepEqual(await run(() => true), { ok: true, reasons: [] });
    assert.deepEqual(await run(async () => false), { ok: false, reasons: ['custom ./checks/mine.js: rejected the answer'] });
    assert.deepEqual(await run(() => ({ ok: false, reasons: ['too rude'] })), { ok: false, reasons: ['custom ./checks/mine.js: too rude'] });
    assertFails(await run(() => 'yes' as unknown as boolean), /returned neither a boolean nor a verdict/);
  });

  it('turns a throw or a failed load into a failed verdict, never a crash', async () => {
    assertFails(
      await run(() => {
        throw new Error('boom');
      }),
      /^custom \.\/checks\/mine\.js: threw: boom$/,
    );
    const missing = createCustomValidator({ module: './nope.js', timeoutMs: 50, load: () => Promise.reject(new Error('not found')) });
    assertFails(await missing.validate(answer('hi'), ask()), /^custom \.\/nope\.js: cannot load: not found$/);
  });

  it('times out at timeoutMs on the injected clock, not a millisecond earlier, and aborts the signal', async () => {
    const clock = new ManualClock();
    let seen: AbortSignal | undefined;
    const validator = createCustomValidator({
      module: 'slow.js',
      timeoutMs: 1_000,
      clock,
      load: async () => (_response, _request, { signal }) => {
        seen = signal;
        return new Promise<boolean>(() => {});
      },
    });
    let verdict: Verdict | undefined;
    void runValidators([validator], answer('hi'), ask()).then((value) => (verdict = value));
    await clock.advance(999);
    assert.equal(verdict, undefined);
    assert.equal(seen?.aborted, false);
    await clock.advance(1);
    assert.deepEqual(verdict, { ok: false, reasons: ['custom slow.js: timed out after 1000 ms'] });
    assert.equal(seen?.aborted, true);
    assert.equal(clock.pending, 0);
  });

  it('loads the module once and cancels its timer when it answers in time', async () => {
    const clock = new ManualClock();
    let loads = 0;
    const validator = createCustomValidator({ module: 'ok.js', timeoutMs: 1_000, clock, load: async () => (loads++, () => true) });
    for (let i = 0; i < 3; i++) assert.equal((await validator.validate(answer('hi'), ask())).ok, true);
    assert.equal(loads, 1);
    assert.equal(clock.pending, 0, 'no time box left behind');
  });

  describe('the default loader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-validators-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("imports a module's default export from a path", async () => {
      const file = join(dir, 'short.mjs');
      writeFileSync(file, 'export default (response) => response.content.length > 0;\n');
      const fn = await importCustomValidator(file);
      assert.equal(await fn(answer('hi'), ask(), { signal: new AbortController().signal }), true);
      const none = join(dir, 'none.mjs');
      writeFileSync(none, 'export const x = 1;\n');
      await assert.rejects(importCustomValidator(none), /no default export function/);
    });
  });
});

describe('createValidators and runValidators', () => {
  const names = (raw: unknown[], request: CanonicalRequest, autoValidators = true) =>
    validatorNames(createValidators(configs(...raw), { autoValidators, request }));

  it('adds the validators the request implies, and never finish_reason or refusal', () => {
    assert.deepEqual(names([], ask()), ['non_empty']);
    assert.deepEqual(names([], ask({ responseFormat: { type: 'json_object' } })), ['non_empty', 'json']);
    assert.deepEqual(names([], ask({ responseFormat: { type: 'json_schema', name: 'p', schema: PERSON_SCHEMA } })), ['non_empty', 'json_schema']);
    assert.deepEqual(names([], ask({ tools: [WEATHER_TOOL] })), ['non_empty', 'tool_args']);
    assert.deepEqual(names([], ask({ responseFormat: { type: 'text' } })), ['non_empty']);
    assert.deepEqual(names([{ type: 'regex', pattern: 'x' }], ask({ tools: [WEATHER_TOOL] }), false), ['regex']);
  });

  it('does not duplicate what the config already covers', () => {
    const request = ask({ tools: [WEATHER_TOOL], responseFormat: { type: 'json_schema', name: 'p', schema: PERSON_SCHEMA } });
    const validators = createValidators(configs({ type: 'json_schema' }, { type: 'tool_args' }, { type: 'non_empty' }), { autoValidators: true, request });
    assert.deepEqual(validators.map((v) => v.name), ['json_schema', 'tool_args', 'non_empty']);
    const withOwnSchema = createValidators(configs({ type: 'json_schema', schema: { type: 'object' } }), { autoValidators: true, request });
    assert.deepEqual(withOwnSchema.map((v) => v.name), ['json_schema', 'non_empty', 'json_schema', 'tool_args']);
    assert.deepEqual(validatorNames(withOwnSchema), ['json_schema', 'non_empty', 'tool_args']);
  });

  it('builds every configured type, with config defaults', async () => {
    const all = configs(
      { type: 'non_empty' },
      { type: 'json' },
      { type: 'json_schema', schema: PERSON_SCHEMA },
      { type: 'finish_reason' },
      { type: 'refusal' },
      { type: 'regex', pattern: 'Ada' },
      { type: 'deny_regex', pattern: 'password' },
      { type: 'max_chars', max: 100 },
      { type: 'tool_args' },
      { type: 'custom', module: 'ok.js' },
    );
    const validators = createValidators(all, { autoValidators: false, request: ask(), loadCustom: async () => () => true });
    assert.equal(validators.length, 10);
    assert.deepEqual(await runValidators(validators, answer('{"name": "Ada", "age": 36}'), ask()), { ok: true, reasons: [] });
    const bad = await runValidators(validators, answer('{"name": "Bob", "age": "x", "password": 1}', { finishReason: 'length' }), ask());
    assert.deepEqual(bad.reasons, [
      'schema: /age must be integer',
      'finish_reason length (answer cut at max_tokens)',
      'regex /Ada/ did not match',
      'deny_regex /password/ matched "password"',
    ]);
  });

  it('rejects a bad pattern at creation, and checkValidatorConfig reports it at config load', () => {
    const bad = configs({ type: 'regex', pattern: '(' });
    assert.throws(() => createValidators(bad, { autoValidators: false, request: ask() }), (error: unknown) => error instanceof BreakwaterError && error.code === 'internal_error');
    assert.match(checkValidatorConfig(bad[0]!) ?? '', /^invalid regular expression/);
    assert.match(checkValidatorConfig(configs({ type: 'json_schema', schema: { type: 'nope' } })[0]!) ?? '', /does not compile/);
    assert.match(checkValidatorConfig(configs({ type: 'finish_reason', allow: ['stop', 'end_turn'] })[0]!) ?? '', /unknown finish reason end_turn/);
    assert.equal(checkValidatorConfig(configs({ type: 'json_schema', schema: PERSON_SCHEMA })[0]!), undefined);
  });

  it('runs all validators, concatenating reasons, and turns throws and rejections into reasons', async () => {
    const throwing: Validator = {
      name: 'broken',
      validate() {
        throw new Error('bug');
      },
    };
    const rejecting: Validator = { name: 'async', validate: () => Promise.reject(new Error('down')) };
    const verdict = await runValidators([createNonEmptyValidator(), throwing, createMaxCharsValidator(0), rejecting], answer(''), ask());
    assert.deepEqual(verdict.reasons, ['empty answer', 'broken: validator failed: bug', 'async: validator failed: down']);
  });

  it('takes the synchronous fast path: all passing returns one shared settled promise', async () => {
    const validators = [createNonEmptyValidator(), createJsonValidator()];
    const first = runValidators(validators, answer('{}'), ask());
    const second = runValidators(validators, answer('[]'), ask());
    assert.equal(first, second);
    assert.deepEqual(await first, { ok: true, reasons: [] });
    assert.equal(await runValidators([], answer(''), ask()).then((v) => v.ok), true);
  });
});

describe('JSON schema compile cache', () => {
  it('compiles a hot schema once across requests carrying fresh copies of it', () => {
    const schema = (): JsonObject => ({ type: 'object', required: ['k'], properties: { k: { type: 'string', const: 'cache-test' } } });
    const before = sharedJsonSchemaCache.compiles;
    for (let i = 0; i < 5; i++) {
      const request = ask({ responseFormat: { type: 'json_schema', name: 's', schema: schema() } });
      const validators = createValidators([], { autoValidators: true, request });
      assert.equal(check(validators[1]!, answer('{"k": "cache-test"}'), request).ok, true);
      assertFails(check(validators[1]!, answer('{"k": "other"}'), request), /^schema: \/k must be equal to constant$/);
    }
    assert.equal(sharedJsonSchemaCache.compiles - before, 1);
  });

  it('is a bounded LRU and caches schemas that do not compile', () => {
    const cache = createJsonSchemaCache({ maxEntries: 2 });
    const a = () => ({ type: 'string' });
    const b = () => ({ type: 'number' });
    const c = () => ({ type: 'boolean' });
    cache.get(a());
    cache.get(b());
    cache.get(a());
    cache.get(c());
    assert.equal(cache.size, 2);
    assert.equal(cache.compiles, 3);
    cache.get(a());
    assert.equal(cache.compiles, 3, 'a was used recently and survived');
    cache.get(b());
    assert.equal(cache.compiles, 4, 'b was the least recently used and was evicted');
    const broken = cache.get({ type: 'nope' });
    assert.equal(broken.ok, false);
    cache.get({ type: 'nope' });
    assert.equal(cache.compiles, 5);
  });
});

describe("the simulator's wrong 200s are caught", () => {
  const sim = createSimAdapter({ id: 'sim', seed: 11, timeScale: 0 });
  const clock = new ManualClock();
  const context = (fault?: string): CallContext => ({
    upstreamModel: 'sim-fast',
    signal: new AbortController().signal,
    clock,
    requestId: 'req_validators',
    timeouts: TIMEOUTS,
    ...(fault ? { headers: { 'x-sim-fault': fault } } : {}),
  });

  async function verdictFor(request: CanonicalRequest, raw: unknown[], fault?: string): Promise<Verdict> {
    const response = await sim.generate(request, context(fault));
    return runValidators(createValidators(configs(...raw), { autoValidators: true, request }), response, request);
  }

  const cases: Array<{ fault: string; request: CanonicalRequest; config: unknown[]; reason: RegExp }> = [
    { fault: 'empty', request: ask(), config: [], reason: /^empty answer$/ },
    { fault: 'truncated', request: ask(), config: [{ type: 'finish_reason' }], reason: /^finish_reason length \(answer cut at max_tokens\)$/ },
    { fault: 'invalid-json', request: ask({ responseFormat: { type: 'json_object' } }), config: [], reason: /^invalid JSON: / },
    {
      fault: 'invalid-json',
      request: ask({ responseFormat: { type: 'json_schema', name: 'p', schema: PERSON_SCHEMA } }),
      config: [],
      reason: /^invalid JSON: /,
    },
    { fault: 'refusal', request: ask(), config: [{ type: 'refusal' }], reason: /^refusal: "I'm sorry, but I can't help with that\."$/ },
    { fault: 'bad-tool-args', request: ask({ tools: [WEATHER_TOOL] }), config: [], reason: /^tool call get_weather: arguments are not valid JSON/ },
    { fault: 'bad-tool-args:mode=schema', request: ask({ tools: [WEATHER_TOOL] }), config: [], reason: /^tool call get_weather: \/\S* must / },
  ];

  for (const { fault, request, config, reason } of cases) {
    it(`${fault}${request.responseFormat ? ` (${request.responseFormat.type})` : ''}: fails with a reason, and passes without the fault`, async () => {
      assertFails(await verdictFor(request, config, fault), reason);
      assert.deepEqual(await verdictFor(request, config), { ok: true, reasons: [] });
    });
  }
});

describe('degeneration guard', () => {
  function feed(guard: ReturnType<typeof createDegenerationGuard>, pieces: string[]): { at: number; verdict: Verdict | undefined } {
    for (let i = 0; i < pieces.length; i++) {
      const verdict = guard.push(pieces[i]!);
      if (verdict) return { at: i, verdict };
    }
    return { at: -1, verdict: undefined };
  }

  it('trips on "the the the …" at the 64th repeated token, not the 63rd', () => {
    const guard = createDegenerationGuard();
    const result = feed(guard, Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 'The ' : 'the ')));
    assert.equal(result.at, 63);
    assert.deepEqual(result.verdict, { ok: false, reasons: ['degenerate: a 1-token span repeated 64 times ("the")'] });
    assert.equal(guard.push('anything else'), result.verdict, 'stays tripped');
  });

  it('trips on a repeated sentence after 8 copies, whatever the chunking', () => {
    const sentence = 'The gateway keeps the overall cost low for everyone involved in the project today.';
    const loop = `Intro text first. ${`${sentence} `.repeat(12)}`;
    const byWord = loop.split(/(?<= )/);
    const whole = feed(createDegenerationGuard(), byWord);
    assert.ok(whole.verdict);
    assert.match(whole.verdict.reasons[0]!, /^degenerate: a 14-token span repeated 8 times \("the gateway keeps/);
    const random = createSeededRandom(3);
    const chunks: string[] = [];
    for (let i = 0; i < loop.length; ) {
      const size = 1 + Math.floor(random() * 7);
      chunks.push(loop.slice(i, i + size));
      i += size;
    }
    const guard = createDegenerationGuard();
    const tripped = chunks.map((chunk) => guard.push(chunk)).find((verdict) => verdict !== undefined);
    assert.deepEqual(tripped, whole.verdict);
    const seven = `Intro text first. ${`${sentence} `.repeat(7)}`;
    assert.equal(feed(createDegenerationGuard(), [seven]).verdict, undefined, '7 copies do not trip');
  });

  it('trips on loops without whitespace', () => {
    const guard = createDegenerationGuard();
    assert.ok(feed(guard, Array.from({ length: 300 }, () => '哈哈哈哈哈哈哈哈哈哈')).verdict);
  });

  it('never trips on pages of varied prose', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const random = createSeededRandom(seed);
      const text = Array.from({ length: 300 }, (_, i) => simSentence(random) + (i % 5 === 4 ? '\n\n' : ' ')).join('');
      const guard = createDegenerationGuard();
      for (let i = 0; i < text.length; i += 5) assert.equal(guard.push(text.slice(i, i + 5)), undefined, `seed ${seed} tripped`);
    }
  });

  it('trips past maxChars, not at it', () => {
    const guard = createDegenerationGuard({ maxChars: 10 });
    assert.equal(guard.push('12345'), undefined);
    assert.equal(guard.push('67890'), undefined);
    assert.deepEqual(guard.push('1'), { ok: false, reasons: ['degenerate: output past 10 characters'] });
  });

  it('honours windowTokens and repeats', () => {
    const guard = createDegenerationGuard({ windowTokens: 2, repeats: 3 });
    assert.equal(guard.push('ha ha ha ha ha '), undefined);
    assert.match(guard.push('ha ')?.reasons[0] ?? '', /^degenerate: a 1-token span repeated 6 times/);
  });
});
