import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSimBackedGateway, type SimBackedGateway } from './helpers/sim-backed-gateway.js';
import type { TestGateway } from './helpers/test-gateway.js';

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  },
};

const anthropicWeatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

let gateway: TestGateway;
let upstream: SimBackedGateway;
let openai: OpenAI;
let anthropic: Anthropic;

before(async () => {
  // A real HTTP upstream speaking both wire formats, registered once as an Anthropic provider and
  // once as an OpenAI-compatible one, so every translation direction crosses a real socket.
  upstream = await startSimBackedGateway({
    seed: 7,
    timeScale: 0,
    configYaml: (url) => `
providers:
  upstream-anthropic: { kind: anthropic, baseUrl: "${url}/v1", apiKey: test-anthropic-key }
  upstream-openai: { kind: openai-compatible, baseUrl: "${url}/v1", apiKey: test-openai-key, flavor: vllm }
models:
  claude-sim: upstream-anthropic/sim-smart
  gpt-sim: upstream-openai/sim-smart
`,
  });
  gateway = upstream.gateway;
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: gateway.key, maxRetries: 0 });
});

after(() => upstream?.close());

describe('OpenAI SDK against the gateway', () => {
  test('a non-streaming sim-fast completion carries content, usage and Breakwater headers', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'sim-fast', messages: [{ role: 'user', content: 'Say hello' }] })
      .withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.model, 'sim-fast');
    assert.ok((data.choices[0]?.message.content ?? '').length > 0);
    assert.equal(data.choices[0]?.finish_reason, 'stop');
    assert.ok(data.usage!.prompt_tokens > 0 && data.usage!.completion_tokens > 0);
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim/sim-fast');
    assert.equal(response.headers.get('x-breakwater-attempts'), '1');
    assert.match(response.headers.get('x-breakwater-request-id') ?? '', /^req_[0-9a-f]{44}$/);
    assert.ok(Number(response.headers.get('x-breakwater-overhead-ms')) >= 0);
  });

  test('a stream yields the same text as the non-streamed answer and usage only when asked', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about breakwaters' }];
    const whole = await openai.chat.completions.create({ model: 'sim-fast', messages });
    const stream = await openai.chat.completions.create({ model: 'sim-fast', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    let finish;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
      assert.equal(chunk.model, 'sim-fast');
    }
    assert.equal(text, whole.choices[0]?.message.content);
    assert.equal(finish, 'stop');
    assert.deepEqual(usage?.completion_tokens, whole.usage?.completion_tokens);

    const quiet = await openai.chat.completions.create({ model: 'sim-fast', messages, stream: true });
    for await (const chunk of quiet) assert.equal(chunk.usage ?? undefined, undefined);
  });

  test('tool calls round-trip: the model calls a tool, then answers from its result', async () => {
    const first = await openai.chat.completions.create({
      model: 'sim-fast',
      messages: [{ role: 'user', content: 'What is the weather in Oslo?' }],
      tools: [weatherTool],
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');

    const second = await openai.chat.completions.create({
      model: 'sim-fast',
      messages: [
        { role: 'user', content: 'What is the weather in Oslo?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: '{"temp_c": 4}' },
      ],
      tools: [weatherTool],
    });
    assert.equal(second.choices[0]?.finish_reason, 'stop');
    assert.ok((second.choices[0]?.message.content ?? '').length > 0);
  });

  test('streamed tool calls assemble into valid JSON arguments', async () => {
    const stream = openai.chat.completions.stream({
      model: 'sim-fast',
      messages: [{ role: 'user', content: 'Weather in Lisbon?' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function');
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
  });

  test('json_schema output parses and matches the schema', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer', minimum: 0 } },
      required: ['name', 'age'],
      additionalProperties: false,
    };
    for (const model of ['sim-fast', 'claude-sim']) {
      const res = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Invent a person' }],
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
      });
      const value = JSON.parse(res.choices[0]?.message.content ?? '');
      assert.equal(typeof value.name, 'string', model);
      assert.ok(Number.isInteger(value.age) && value.age >= 0, model);
    }
  });

  test('an OpenAI client is served by an Anthropic upstream, streaming and with tools', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'claude-sim', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hello there' }] })
      .withResponse();
    assert.equal(response.headers.get('x-breakwater-served-by'), 'upstream-anthropic/sim-smart');
    assert.ok((data.choices[0]?.message.content ?? '').length > 0);
    assert.ok(data.usage!.prompt_tokens > 0);

    const stream = openai.chat.completions.stream({ model: 'claude-sim', messages: [{ role: 'user', content: 'Weather in Rome?' }], tools: [weatherTool] });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function' && call.function.name === 'get_weather');
    assert.equal(typeof JSON.parse(call.function.arguments).city, 'string');
    assert.equal(final.choices[0]?.finish_reason, 'tool_calls');
  });

  test('models lists the simulated and configured models', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    for (const expected of ['sim-fast', 'sim-smart', 'claude-sim', 'gpt-sim']) assert.ok(ids.includes(expected), expected);
  });

  test('embeddings come back with the requested count and usage', async () => {
    const res = await openai.embeddings.create({ model: 'sim-embed', input: ['alpha', 'beta'] });
    assert.equal(res.data.length, 2);
    assert.ok(res.data[0]!.embedding.length > 0);
    assert.ok(res.usage.prompt_tokens > 0);
  });

  test('errors are OpenAI-shaped with our code: unknown model 404, bad key 401', async () => {
    await assert.rejects(openai.chat.completions.create({ model: 'gpt5-nope', messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.equal(error.code, 'model_not_found');
      assert.match(error.message, /sim-fast/);
      return true;
    });
    const stranger = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'bw_not-a-real-key', maxRetries: 0 });
    await assert.rejects(stranger.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: 'x' }] }), OpenAI.AuthenticationError);
  });
});

describe('Anthropic SDK against the gateway', () => {
  test('a non-streaming message with a system prompt', async () => {
    const { data, response } = await anthropic.messages
      .create({ model: 'sim-fast', max_tokens: 200, system: 'You are terse.', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse();
    assert.equal(data.type, 'message');
    assert.equal(data.role, 'assistant');
    assert.equal(data.stop_reason, 'end_turn');
    const block = data.content[0];
    assert.ok(block && block.type === 'text' && block.text.length > 0);
    assert.ok(data.usage.input_tokens > 0 && data.usage.output_tokens > 0);
    assert.equal(response.headers.get('x-breakwater-served-by'), 'sim/sim-fast');
  });

  test('a stream assembles into the same message as the non-streamed one', async () => {
    const params = { model: 'sim-fast', max_tokens: 300, messages: [{ role: 'user' as const, content: 'Describe a harbour' }] };
    const whole = await anthropic.messages.create(params);
    const streamed = await anthropic.messages.stream(params).finalMessage();
    assert.deepEqual(streamed.content, whole.content);
    assert.equal(streamed.usage.output_tokens, whole.usage.output_tokens);
    assert.equal(streamed.stop_reason, 'end_turn');
  });

  test('max_tokens cuts the answer with stop_reason max_tokens', async () => {
    const res = await anthropic.messages.create({ model: 'sim-fast', max_tokens: 5, messages: [{ role: 'user', content: 'Write an essay' }] });
    assert.equal(res.stop_reason, 'max_tokens');
    assert.ok(res.usage.output_tokens <= 5);
  });

  test('tool use round-trips through tool_result', async () => {
    const first = await anthropic.messages.create({
      model: 'sim-fast',
      max_tokens: 300,
      tools: [anthropicWeatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    assert.equal(first.stop_reason, 'tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.equal(typeof (use.input as { city: unknown }).city, 'string');
    const second = await anthropic.messages.create({
      model: 'sim-fast',
      max_tokens: 300,
      tools: [anthropicWeatherTool],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '12 C, cloudy' }] },
      ],
    });
    assert.equal(second.stop_reason, 'end_turn');
  });

  test('an Anthropic client is served by an OpenAI-compatible upstream, streaming and with tools', async () => {
    const plain = await anthropic.messages.create({ model: 'gpt-sim', max_tokens: 200, system: 'Be kind', messages: [{ role: 'user', content: 'Hi' }] });
    const text = plain.content[0];
    assert.ok(text && text.type === 'text' && text.text.length > 0);

    const streamed = await anthropic.messages
      .stream({ model: 'gpt-sim', max_tokens: 300, tools: [anthropicWeatherTool], messages: [{ role: 'user', content: 'Weather in Bergen?' }] })
      .finalMessage();
    assert.equal(streamed.stop_reason, 'tool_use');
    const use = streamed.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use' && use.name === 'get_weather');
    assert.equal(typeof (use.input as { city: unknown }).city, 'string');
    assert.ok(streamed.usage.output_tokens > 0);
  });

  test('errors are Anthropic-shaped on /v1/messages', async () => {
    await assert.rejects(anthropic.messages.create({ model: 'nope', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), (error: unknown) => {
      assert.ok(error instanceof Anthropic.NotFoundError);
      const body = error.error as { type: string; error: { type: string; code: string } };
      assert.equal(body.type, 'error');
      assert.equal(body.error.type, 'not_found_error');
      assert.equal(body.error.code, 'model_not_found');
      return true;
    });
  });
});

describe('the ledger', () => {
  test('records each request with tokens and the serving deployment, off the request path', async () => {
    const { response } = await openai.chat.completions
      .create({ model: 'sim-smart', messages: [{ role: 'user', content: 'ledger check' }] })
      .withResponse();
    const id = response.headers.get('x-breakwater-request-id')!;
    await gateway.app.ledger.flush();
    const record = await gateway.app.stores.ledger.getRequest(id);
    assert.ok(record);
    assert.equal(record.servedBy, 'sim/sim-smart');
    assert.equal(record.status, 200);
    assert.ok(record.inputTokens > 0 && record.outputTokens > 0);
    assert.ok(record.costMicros > 0);
  });
});
