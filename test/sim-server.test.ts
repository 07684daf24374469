import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Ajv } from 'ajv';
import OpenAI from 'openai';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';

let sim: SimServer;
let openai: OpenAI;
let anthropic: Anthropic;

const WEATHER = {
  type: 'object' as const,
  additionalProperties: false,
  required: ['city', 'unit'],
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
};

const PERSON = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'age', 'tags'],
  properties: {
    name: { type: 'string' },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    tags: { type: 'array', minItems: 2, items: { type: 'string' } },
  },
};

before(async () => {
  sim = await startSimServer({ port: 0, seed: 42, timeScale: 0 });
  openai = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'x', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: sim.url, apiKey: 'x', maxRetries: 0 });
});

after(async () => {
  await sim.close();
});

/** Posts a JSON body and reads the raw response text, or the error the connection ended with. */
interface RawResult {
  status?: number;
  text: string;
  error?: Error & { code?: string };
}

async function raw(path: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = 2_000): Promise<RawResult> {
  return new Promise((resolve) => {
    let status: number | undefined;
    let text = '';
    const options = { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) };
    const req = httpRequest(`${sim.url}${path}`, options, (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status, text }));
      res.on('error', (error) => resolve({ status, text, error }));
    });
    req.on('error', (error) => resolve({ status, text, error }));
    req.end(JSON.stringify(body));
  });
}

function chat(model: string, stream = true): Record<string, unknown> {
  return { model, stream, messages: [{ role: 'user', content: 'Tell me a story' }] };
}

function dataLines(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
}

describe('sim server with the OpenAI SDK', () => {
  it('answers chat completions, streamed and not, with the same text and usage', async () => {
    const request = { model: 'sim-fast', messages: [{ role: 'user' as const, content: 'Explain retries' }] };
    const whole = await openai.chat.completions.create(request);
    assert.equal(whole.model, 'sim-fast');
    assert.equal(whole.choices[0]!.finish_reason, 'stop');
    assert.ok(whole.choices[0]!.message.content!.length > 20);
    const stream = await openai.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.ok(chunks > 5);
    assert.equal(text, whole.choices[0]!.message.content);
    assert.equal(usage?.completion_tokens, whole.usage?.completion_tokens);
    assert.equal(usage?.prompt_tokens, whole.usage?.prompt_tokens);
  });

  it('sends stream usage only when include_usage is set', async () => {
    const stream = await openai.chat.completions.create({ model: 'sim-fast', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    for await (const chunk of stream) assert.equal(chunk.usage ?? undefined, undefined);
  });

  it('calls tools with schema-valid arguments, streamed in fragments', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER } }];
    const messages = [{ role: 'user' as const, content: 'Weather in Oslo?' }];
    const whole = await openai.chat.completions.create({ model: 'sim-smart', messages, tools });
    const call = whole.choices[0]!.message.tool_calls?.[0];
    assert.equal(whole.choices[0]!.finish_reason, 'tool_calls');
    assert.ok(call?.type === 'function' && call.function.name === 'get_weather');
    assert.ok(new Ajv().validate(WEATHER, JSON.parse(call.function.arguments)));
    let args = '';
    let fragments = 0;
    for await (const chunk of await openai.chat.completions.create({ model: 'sim-smart', messages, tools, stream: true })) {
      const delta = chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments;
      if (delta) {
        args += delta;
        fragments++;
      }
    }
    assert.ok(fragments >= 2);
    assert.equal(args, call.function.arguments);
  });

  it('returns JSON valid against a json_schema response format', async () => {
    const res = await openai.chat.completions.create({
      model: 'sim-fast',
      messages: [{ role: 'user', content: 'A person' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } },
    });
    assert.ok(new Ajv().validate(PERSON, JSON.parse(res.choices[0]!.message.content!)));
  });

  it('surfaces status faults from the model suffix and the header, with Retry-After', async () => {
    const limited = openai.chat.completions.create({ model: 'sim-fast@429:retry-after=2', messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(limited, (error: unknown) => {
      assert.ok(error instanceof OpenAI.APIError);
      assert.equal(error.status, 429);
      assert.equal(error.headers?.get('retry-after'), '2');
      assert.equal((error.error as { code?: string }).code, 'rate_limit_exceeded');
      return true;
    });
    await assert.rejects(
      openai.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-sim-fault': 'content-policy' } }),
      (error: unknown) =>
        error instanceof OpenAI.APIError && error.status === 400 && (error.error as { code?: string }).code === 'content_policy_violation',
    );
  });

  it('serves embeddings and the model list', async () => {
    const res = await openai.embeddings.create({ model: 'sim-embed', input: ['hello world', 'goodbye'] });
    assert.equal(res.data.length, 2);
    assert.equal(res.data[0]!.embedding.length, 256);
    assert.ok(res.usage.prompt_tokens > 0);
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    assert.ok(models.includes('sim-reasoning'));
  });
});

describe('sim server with the Anthropic SDK', () => {
  it('answers messages, streamed and not, with the same text and usage', async () => {
    const request = { model: 'sim-reasoning', max_tokens: 400, messages: [{ role: 'user' as const, content: 'Explain breakers' }] };
    const whole = await anthropic.messages.create(request);
    assert.equal(whole.stop_reason, 'end_turn');
    assert.equal(whole.content[0]!.type, 'thinking');
    const streamed = await anthropic.messages.stream(request).finalMessage();
    assert.deepEqual(streamed.content, whole.content);
    assert.equal(streamed.usage.output_tokens, whole.usage.output_tokens);
    assert.equal(streamed.usage.input_tokens, whole.usage.input_tokens);
  });

  it('uses tools and honours stop sequences', async () => {
    const tools = [{ name: 'get_weather', input_schema: WEATHER }];
    const res = await anthropic.messages.create({ model: 'sim-fast', max_tokens: 200, tools, messages: [{ role: 'user', content: 'Weather?' }] });
    assert.equal(res.stop_reason, 'tool_use');
    const use = res.content.find((block) => block.type === 'tool_use');
    assert.ok(use?.type === 'tool_use' && new Ajv().validate(WEATHER, use.input));
    const request = { model: 'sim-fast', max_tokens: 200, tools, messages: [{ role: 'user' as const, content: 'Weather?' }] };
    const streamed = await anthropic.messages.stream(request).finalMessage();
    const streamedUse = streamed.content.find((block) => block.type === 'tool_use');
    assert.deepEqual(streamedUse?.type === 'tool_use' && streamedUse.input, use.input);
    const stopped = await anthropic.messages.create({ ...request, tools: undefined, stop_sequences: ['the'], messages: [{ role: 'user', content: 'Go' }] });
    assert.equal(stopped.stop_reason, 'stop_sequence');
    assert.equal(stopped.stop_sequence, 'the');
  });

  it('returns Anthropic-shaped errors', async () => {
    const overloaded = anthropic.messages.create({ model: 'sim-fast@529', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(overloaded, (error: unknown) => {
      assert.ok(error instanceof Anthropic.APIError);
      assert.equal(error.status, 529);
      assert.equal((error.error as { error?: { type?: string } }).error?.type, 'overloaded_error');
      return true;
    });
  });
});

describe('sim server wire faults', () => {
  it('resets the connection before headers', async () => {
    const res = await raw('/v1/chat/completions', chat('sim-fast'), { 'x-sim-fault': 'reset' });
    assert.equal(res.status, undefined);
    assert.equal(res.error?.code, 'ECONNRESET');
  });

  it('cuts the stream after n content chunks', async () => {
    const res = await raw('/v1/chat/completions', chat('sim-fast@cut:after=3'));
    assert.equal(res.status, 200);
    assert.ok(res.error, 'the connection should die');
    assert.equal(dataLines(res.text).filter((line) => line.includes('"content":"') && !line.includes('"content":""')).length, 3);
    assert.ok(!res.text.includes('[DONE]'));
  });

  it('sends a malformed chunk and carries on', async () => {
    const res = await raw('/v1/chat/completions', chat('sim-fast'), { 'x-sim-fault': 'malformed:at=2' });
    const lines = dataLines(res.text);
    const bad = lines.indexOf('{not json');
    assert.ok(bad > 0);
    assert.equal(lines.slice(0, bad).filter((line) => line.includes('"content":"') && !line.includes('"content":""')).length, 1);
    assert.equal(lines.at(-1), '[DONE]');
  });

  it('ends without the terminator in both dialects', async () => {
    const openaiStream = await raw('/v1/chat/completions', chat('sim-fast@no-terminator'));
    assert.equal(openaiStream.error, undefined);
    assert.ok(openaiStream.text.includes('"finish_reason":"stop"'));
    assert.ok(!openaiStream.text.includes('[DONE]'));
    const body = { model: 'sim-fast', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] };
    const anthropicStream = await raw('/v1/messages', body, { 'x-sim-fault': 'no-terminator' });
    assert.ok(anthropicStream.text.includes('event: message_delta'));
    assert.ok(!anthropicStream.text.includes('message_stop'));
  });

  it('stalls after n chunks and never answers a hang', async () => {
    const stalled = await raw('/v1/chat/completions', chat('sim-fast@stall:after=2'), {}, 300);
    assert.equal(stalled.status, 200);
    assert.equal(stalled.error?.name, 'AbortError');
    assert.equal(dataLines(stalled.text).filter((line) => line.includes('"content":"') && !line.includes('"content":""')).length, 2);
    const hung = await raw('/v1/chat/completions', chat('sim-fast@hang'), {}, 200);
    assert.equal(hung.status, undefined);
    assert.equal(hung.error?.name, 'AbortError');
  });

  it('sends a body that is not JSON for a malformed non-streamed answer', async () => {
    const res = await raw('/v1/chat/completions', chat('sim-fast@malformed', false));
    assert.equal(res.status, 200);
    assert.throws(() => JSON.parse(res.text));
  });
});

describe('sim server control endpoints', () => {
  it('journals every call and clears the journal', async () => {
    await fetch(`${sim.url}/_sim/journal`, { method: 'DELETE' });
    await openai.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: 'one' }] });
    await openai.chat.completions.create({ model: 'sim-fast@503', messages: [{ role: 'user', content: 'two' }] }).catch(() => undefined);
    const journal = (await (await fetch(`${sim.url}/_sim/journal`)).json()) as { entries: Array<{ status?: number; faults: string[] }> };
    assert.deepEqual(journal.entries.map((e) => e.status), [200, 503]);
    assert.deepEqual(journal.entries[1]!.faults, ['503']);
    await fetch(`${sim.url}/_sim/journal`, { method: 'DELETE' });
    assert.equal(sim.engine.getJournal().length, 0);
  });

  it('applies runtime faults, counted per model', async () => {
    const set = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', body: JSON.stringify({ fault: '500:times=1', model: 'sim-smart' }) });
    assert.equal(set.status, 200);
    const call = () => openai.chat.completions.create({ model: 'sim-smart', messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(call(), (error: unknown) => error instanceof OpenAI.APIError && error.status === 500);
    assert.equal((await call()).choices[0]!.finish_reason, 'stop');
    await fetch(`${sim.url}/_sim/faults`, { method: 'DELETE' });
  });

  it('refuses bad fault specs and unknown models clearly', async () => {
    const bad = await raw('/v1/chat/completions', chat('sim-fast', false), { 'x-sim-fault': 'teapot' });
    assert.equal(bad.status, 400);
    const error = JSON.parse(bad.text).error;
    assert.equal(error.param, 'x-sim-fault');
    assert.match(error.message, /unknown fault 'teapot'/);
    const unknown = await raw('/v1/chat/completions', chat('gpt-4o', false));
    assert.equal(unknown.status, 404);
    assert.match(JSON.parse(unknown.text).error.message, /known: sim-fast/);
  });
});
