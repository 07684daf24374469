import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { BreakwaterError } from '../src/core/errors.js';
import type { CanonicalRequest, StreamPart } from '../src/core/types.js';
import {
  createOpenAIChatStreamDecoder,
  createOpenAIChatStreamEncoder,
  droppedOpenAIChatParams,
  mapOpenAIFinishReason,
  parseOpenAIChatRequest,
  parseOpenAIChatResponse,
  toOpenAIChatRequest,
  toOpenAIChatResponse,
} from '../src/protocols/openai-chat.js';
import {
  decodeEmbeddingBase64,
  parseOpenAIEmbeddingRequest,
  parseOpenAIEmbeddingResponse,
  toOpenAIEmbeddingResponse,
} from '../src/protocols/openai-embeddings.js';
import { parseRateLimitHeaders } from '../src/protocols/rate-limit-headers.js';
import { formatSseEvent, type SseEvent } from '../src/protocols/sse.js';
import { COMPAT_FLAVORS } from '../src/providers/compat-flavors.js';

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const answerSchema = { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'], additionalProperties: false };

/** A client body using every field the parser reads, plus two it does not. */
function richRequest(): Record<string, unknown> {
  return {
    model: 'gpt-smart',
    messages: [
      { role: 'developer', content: 'Be terse.' },
      { role: 'system', content: [{ type: 'text', text: 'Part A' }, { type: 'text', text: 'Part B' }] },
      {
        role: 'user',
        name: 'ada',
        content: [
          { type: 'text', text: 'Weather where these were taken?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
          { type: 'image_url', image_url: { url: 'https://example.com/rome.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18°C, clear' },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'service down' }] },
      { role: 'assistant', content: 'Paris 18°C; Rome unknown.' },
      { role: 'user', content: 'Summarise.' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: weatherSchema, strict: true } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: true,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: answerSchema, strict: true } },
    max_completion_tokens: 256,
    temperature: 0.2,
    top_p: 0.9,
    stop: 'END',
    seed: 42,
    user: 'user-7',
    metadata: { team: 'search' },
    stream: true,
    stream_options: { include_usage: false },
    reasoning_effort: 'low',
    logprobs: true,
    frequency_penalty: 0.5,
  };
}

/** What the rich request becomes upstream: the same conversation in the shapes every server takes. */
function expectedUpstreamBody(): Record<string, unknown> {
  return {
    logprobs: true,
    frequency_penalty: 0.5,
    model: 'gpt-4o-2024-08-06',
    messages: [
      { role: 'system', content: 'Be terse.' },
      { role: 'system', content: [{ type: 'text', text: 'Part A' }, { type: 'text', text: 'Part B' }] },
      {
        role: 'user',
        name: 'ada',
        content: [
          { type: 'text', text: 'Weather where these were taken?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
          { type: 'image_url', image_url: { url: 'https://example.com/rome.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18°C, clear' },
      { role: 'tool', tool_call_id: 'call_2', content: 'service down' },
      { role: 'assistant', content: 'Paris 18°C; Rome unknown.' },
      { role: 'user', content: 'Summarise.' },
    ],
    tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: weatherSchema, strict: true } }],
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
    parallel_tool_calls: true,
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: answerSchema, strict: true } },
    max_tokens: 256,
    temperature: 0.2,
    top_p: 0.9,
    stop: ['END'],
    seed: 42,
    reasoning_effort: 'low',
    user: 'user-7',
    metadata: { team: 'search' },
    stream: true,
    stream_options: { include_usage: true },
  };
}

function data(value: unknown): SseEvent {
  return { data: JSON.stringify(value) };
}

function chunk(delta: Record<string, unknown>, finishReason: string | null = null): SseEvent {
  return data({ id: 'chatcmpl-up', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finishReason }] });
}

function decodeAll(events: SseEvent[]): StreamPart[] {
  const decoder = createOpenAIChatStreamDecoder();
  const parts = events.flatMap((event) => decoder.push(event));
  return [...parts, ...decoder.end()];
}

function thrown(fn: () => unknown): BreakwaterError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BreakwaterError, `expected a BreakwaterError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a throw');
}

describe('OpenAI chat requests', () => {
  test('parses a rich client body into the canonical request', () => {
    const req = parseOpenAIChatRequest(richRequest());
    assert.equal(req.model, 'gpt-smart');
    assert.deepEqual(req.messages[0], { role: 'system', content: [{ type: 'text', text: 'Be terse.' }] });
    assert.deepEqual(req.messages[2].content[1], { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=', detail: 'high' });
    assert.deepEqual(req.messages[2].content[2], { type: 'image', url: 'https://example.com/rome.jpg' });
    assert.equal(req.messages[2].name, 'ada');
    assert.deepEqual(req.messages[3].content[1], { type: 'tool-call', id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' });
    assert.deepEqual(req.messages[5], {
      role: 'tool',
      content: [{ type: 'tool-result', toolCallId: 'call_2', content: [{ type: 'text', text: 'service down' }] }],
    });
    assert.deepEqual(req.toolChoice, { name: 'get_weather' });
    assert.deepEqual(req.responseFormat, { type: 'json_schema', name: 'answer', schema: answerSchema, strict: true });
    assert.equal(req.maxTokens, 256);
    assert.deepEqual(req.stop, ['END']);
    assert.equal(req.includeUsage, false);
    assert.deepEqual(req.reasoning, { effort: 'low' });
    assert.deepEqual(req.extra, { logprobs: true, frequency_penalty: 0.5 });
    assert.equal(req.extraDialect, 'openai-chat');
  });

  test('round-trips to an equivalent upstream body that always asks for stream usage', () => {
    const body = toOpenAIChatRequest(parseOpenAIChatRequest(richRequest()), 'gpt-4o-2024-08-06');
    assert.deepEqual(body, expectedUpstreamBody());
    assert.deepEqual(droppedOpenAIChatParams(parseOpenAIChatRequest(richRequest())), []);
  });

  test('the openai flavor sends max_completion_tokens and drops metadata unless store is on', () => {
    const transform = COMPAT_FLAVORS.openai.transformRequestBody!;
    const req = parseOpenAIChatRequest(richRequest());
    const body = transform(toOpenAIChatRequest(req, 'gpt-4o'), req);
    assert.equal(body.max_completion_tokens, 256);
    assert.equal('max_tokens' in body, false);
    assert.equal('metadata' in body, false);
    const stored = parseOpenAIChatRequest({ ...richRequest(), store: true });
    assert.deepEqual(transform(toOpenAIChatRequest(stored, 'gpt-4o'), stored).metadata, { team: 'search' });
  });

  test('a non-streaming request carries no stream_options', () => {
    const req = parseOpenAIChatRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(toOpenAIChatRequest(req, 'up'), { model: 'up', messages: [{ role: 'user', content: 'hi' }], stream: false });
  });

  test('canonical tool results from another dialect become one tool message each, images after them', () => {
    const req: CanonicalRequest = {
      model: 'x',
      stream: false,
      topK: 40,
      extra: { top_k: 40, service_tier: 'auto' },
      extraDialect: 'anthropic-messages',
      messages: [
        { role: 'assistant', content: [{ type: 'reasoning', text: 'hmm', signature: 'sig' }, { type: 'tool-call', id: 't1', name: 'shot', arguments: '{}' }, { type: 'tool-call', id: 't2', name: 'f', arguments: '{}' }] },
        {
          role: 'user',
          content: [
            { type: 'tool-result', toolCallId: 't1', content: [{ type: 'text', text: 'a' }, { type: 'image', data: 'AAAA', mediaType: 'image/jpeg' }] },
            { type: 'tool-result', toolCallId: 't2', content: [{ type: 'text', text: 'b' }, { type: 'text', text: 'c' }], isError: true },
            { type: 'text', text: 'next?', cacheControl: { type: 'ephemeral' } },
          ],
        },
      ],
    };
    const body = toOpenAIChatRequest(req, 'up');
    assert.deepEqual(body.messages, [
      { role: 'assistant', content: null, tool_calls: [
        { id: 't1', type: 'function', function: { name: 'shot', arguments: '{}' } },
        { id: 't2', type: 'function', function: { name: 'f', arguments: '{}' } },
      ] },
      { role: 'tool', tool_call_id: 't1', content: 'a' },
      { role: 'tool', tool_call_id: 't2', content: 'b\nc' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } }, { type: 'text', text: 'next?' }] },
    ]);
    assert.equal('top_k' in body, false, 'foreign extra is never spread');
    assert.deepEqual(droppedOpenAIChatParams(req), ['topK', 'cacheControl', 'top_k', 'service_tier']);
  });

  const user = { role: 'user', content: 'hi' };
  const invalidBodies: Array<[string, unknown, string | undefined]> = [
    ['a non-object body', [1, 2], undefined],
    ['a missing model', { messages: [user] }, 'model'],
    ['an empty model', { model: '', messages: [user] }, 'model'],
    ['missing messages', { model: 'm' }, 'messages'],
    ['empty messages', { model: 'm', messages: [] }, 'messages'],
    ['a message that is a string', { model: 'm', messages: ['hi'] }, 'messages[0]'],
    ['an unknown role', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['the deprecated function role', { model: 'm', messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
    ['numeric content', { model: 'm', messages: [user, user, { role: 'user', content: 5 }] }, 'messages[2].content'],
    ['an audio part', { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, 'messages[0].content[0].type'],
    ['an image without url', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content[0].image_url.url'],
    ['an image in a system message', { model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0].type'],
    [
      'tool arguments as an object',
      { model: 'm', messages: [user, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }] },
      'messages[1].tool_calls[0].function.arguments',
    ],
    ['a tool call without id', { model: 'm', messages: [user, { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }, 'messages[1].tool_calls[0].id'],
    ['a tool message without tool_call_id', { model: 'm', messages: [user, { role: 'tool', content: 'x' }] }, 'messages[1].tool_call_id'],
    ['a custom tool', { model: 'm', messages: [user], tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0].type'],
    ['a tool without name', { model: 'm', messages: [user], tools: [{ type: 'function', function: {} }] }, 'tools[0].function.name'],
    ['tool parameters that are not an object', { model: 'm', messages: [user], tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }, 'tools[0].function.parameters'],
    ['an unknown tool_choice', { model: 'm', messages: [user], tool_choice: 'sometimes' }, 'tool_choice'],
    ['an unknown response format', { model: 'm', messages: [user], response_format: { type: 'xml' } }, 'response_format.type'],
    ['a json_schema without name', { model: 'm', messages: [user], response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'response_format.json_schema.name'],
    ['zero max_tokens', { model: 'm', messages: [user], max_tokens: 0 }, 'max_tokens'],
    ['fractional max_completion_tokens', { model: 'm', messages: [user], max_completion_tokens: 1.5 }, 'max_completion_tokens'],
    ['temperature above 2', { model: 'm', messages: [user], temperature: 3 }, 'temperature'],
    ['top_p as a string', { model: 'm', messages: [user], top_p: '1' }, 'top_p'],
    ['a numeric stop', { model: 'm', messages: [user], stop: [1] }, 'stop[0]'],
    ['a fractional seed', { model: 'm', messages: [user], seed: 1.5 }, 'seed'],
    ['a numeric metadata value', { model: 'm', messages: [user], metadata: { a: 1 } }, 'metadata.a'],
    ['stream as a string', { model: 'm', messages: [user], stream: 'yes' }, 'stream'],
    ['include_usage as a string', { model: 'm', messages: [user], stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage'],
    ['n above 1', { model: 'm', messages: [user], n: 2 }, 'n'],
    ['deprecated functions', { model: 'm', messages: [user], functions: [] }, 'functions'],
    ['a numeric user', { model: 'm', messages: [user], user: 7 }, 'user'],
    ['a non-boolean parallel_tool_calls', { model: 'm', messages: [user], parallel_tool_calls: 'yes' }, 'parallel_tool_calls'],
  ];
  for (const [name, body, param] of invalidBodies) {
    test(`rejects ${name} with invalid_request naming ${param ?? 'no param'}`, () => {
      const error = thrown(() => parseOpenAIChatRequest(body));
      assert.equal(error.code, 'invalid_request');
      assert.equal(error.status, 400);
      assert.equal(error.param, param);
    });
  }
});

describe('OpenAI chat responses', () => {
  const upstream = {
    id: 'chatcmpl-abc',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-2024-08-06',
    system_fingerprint: 'fp_x',
    service_tier: 'default',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          annotations: [],
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 128, audio_tokens: 0 },
    },
  };

  test('decodes tool calls and usage with cached and reasoning tokens', () => {
    const res = parseOpenAIChatResponse(upstream);
    assert.equal(res.id, 'chatcmpl-abc');
    assert.equal(res.model, 'gpt-4o-2024-08-06');
    assert.equal(res.finishReason, 'tool_calls');
    assert.equal(res.rawFinishReason, 'tool_calls');
    assert.deepEqual(res.content, [
      { type: 'tool-call', id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'tool-call', id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
    ]);
    assert.deepEqual(res.usage, { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 1024, reasoningTokens: 128 });
  });

  test('encodes the client answer under the public model with usage details', () => {
    const body = toOpenAIChatResponse(parseOpenAIChatResponse(upstream), 'gpt-smart') as Record<string, any>;
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.id, 'chatcmpl-abc');
    assert.equal(body.created, 1_700_000_000);
    assert.equal(body.model, 'gpt-smart');
    assert.equal(body.choices[0].finish_reason, 'tool_calls');
    assert.equal(body.choices[0].message.content, null);
    assert.deepEqual(body.choices[0].message.tool_calls, upstream.choices[0].message.tool_calls);
    assert.deepEqual(body.usage, {
      prompt_tokens: 1200,
      completion_tokens: 300,
      total_tokens: 1500,
      prompt_tokens_details: { cached_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 128 },
    });
  });

  test('keeps vLLM reasoning out of content and in reasoning_content', () => {
    const res = parseOpenAIChatResponse({
      id: 'cmpl-1',
      model: 'qwen3',
      choices: [{ message: { role: 'assistant', content: '42', reasoning_content: 'Think: 6×7.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5 },
    });
    assert.deepEqual(res.content, [{ type: 'reasoning', text: 'Think: 6×7.' }, { type: 'text', text: '42' }]);
    const message = (toOpenAIChatResponse(res, 'qwen') as Record<string, any>).choices[0].message;
    assert.equal(message.content, '42');
    assert.equal(message.reasoning_content, 'Think: 6×7.');
    assert.equal((toOpenAIChatResponse(res, 'qwen') as Record<string, any>).id, 'chatcmpl-cmpl-1');
  });

  test('a refusal becomes text; missing usage is zero flagged estimated; stop with tool calls means tool_calls', () => {
    const refusal = parseOpenAIChatResponse({ choices: [{ message: { content: null, refusal: 'I cannot help with that.' }, finish_reason: 'stop' }] });
    assert.deepEqual(refusal.content, [{ type: 'text', text: 'I cannot help with that.' }]);
    assert.deepEqual(refusal.usage, { inputTokens: 0, outputTokens: 0, estimated: true });
    assert.match(refusal.id, /^chatcmpl-[0-9a-f]{32}$/);
    const ollama = parseOpenAIChatResponse({ choices: [{ message: { tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }, finish_reason: 'stop' }] });
    assert.equal(ollama.finishReason, 'tool_calls');
    assert.equal((ollama.content[0] as { arguments: string }).arguments, '{"a":1}');
    assert.match((ollama.content[0] as { id: string }).id, /^call_/);
  });

  test('maps finish reasons of OpenAI and compatible servers', () => {
    const table: Array<[string | null, string]> = [
      ['stop', 'stop'], ['length', 'length'], ['tool_calls', 'tool_calls'], ['function_call', 'tool_calls'],
      ['content_filter', 'content_filter'], ['eos_token', 'stop'], ['stop_sequence', 'stop'], ['abort', 'other'], [null, 'other'],
    ];
    for (const [raw, expected] of table) assert.equal(mapOpenAIFinishReason(raw), expected, String(raw));
  });
});

describe('OpenAI chat stream decoding', () => {
  test('decodes parallel tool calls with streamed argument fragments, then usage, then finish', () => {
    const parts = decodeAll([
      chunk({ role: 'assistant', content: null }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      data({ id: 'chatcmpl-up', choices: [], usage: { prompt_tokens: 50, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 32 }, completion_tokens_details: { reasoning_tokens: 4 } } }),
      { data: '[DONE]' },
    ]);
    const usage = { inputTokens: 50, outputTokens: 20, cacheReadTokens: 32, reasoningTokens: 4 };
    assert.deepEqual(parts, [
      { type: 'start', id: 'chatcmpl-up', model: 'gpt-4o' },
      { type: 'tool-call-start', index: 0, id: 'call_a', name: 'get_weather' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"ci' },
      { type: 'tool-call-start', index: 1, id: 'call_b', name: 'get_time' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: 'ty":"Paris"}' },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{}' },
      { type: 'usage', usage },
      { type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_calls', usage },
    ]);
  });

  test('text and reasoning deltas; finish waits for [DONE] when no usage follows', () => {
    const decoder = createOpenAIChatStreamDecoder();
    assert.equal(decoder.push(chunk({ role: 'assistant', reasoning_content: 'hm' }))[1].type, 'reasoning-delta');
    assert.deepEqual(decoder.push(chunk({ content: 'Hel' })), [{ type: 'text-delta', text: 'Hel' }]);
    assert.deepEqual(decoder.push(chunk({ content: 'lo' }, 'stop')), [{ type: 'text-delta', text: 'lo' }]);
    assert.deepEqual(decoder.push({ data: '[DONE]' }), [{ type: 'finish', finishReason: 'stop', rawFinishReason: 'stop' }]);
    assert.deepEqual(decoder.end(), [], 'end() after [DONE] adds nothing');
  });

  test('maps sparse upstream tool indexes to 0, 1 and holds arguments until the name arrives', () => {
    const parts = decodeAll([
      chunk({ tool_calls: [{ index: 3, id: 'x', function: { arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 3, function: { name: 'f', arguments: ':1}' } }] }),
      chunk({ tool_calls: [{ index: 7, id: 'y', function: { name: 'g', arguments: '{}' } }] }, 'tool_calls'),
    ]);
    assert.deepEqual(parts.slice(1, -1), [
      { type: 'tool-call-start', index: 0, id: 'x', name: 'f' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"a"' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: ':1}' },
      { type: 'tool-call-start', index: 1, id: 'y', name: 'g' },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{}' },
    ]);
  });

  test('EOF after a finish_reason still finishes; EOF without one is stream_truncated', () => {
    const done = decodeAll([chunk({ content: 'hi' }), chunk({}, 'length')]);
    assert.deepEqual(done.at(-1), { type: 'finish', finishReason: 'length', rawFinishReason: 'length' });
    const decoder = createOpenAIChatStreamDecoder();
    decoder.push(chunk({ content: 'partial' }));
    const error = thrown(() => decoder.end());
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.details.reason, 'stream_truncated');
  });

  test('a malformed chunk throws malformed_chunk; an in-stream error throws a classified error', () => {
    const malformed = thrown(() => createOpenAIChatStreamDecoder().push({ data: '{"id": "x", "choi' }));
    assert.equal(malformed.details.reason, 'malformed_chunk');
    assert.equal(malformed.code, 'upstream_error');
    const limited = thrown(() => createOpenAIChatStreamDecoder().push(data({ error: { message: 'slow down', code: 429 } })));
    assert.equal(limited.code, 'rate_limited');
    assert.equal(limited.message, 'slow down');
    const server = thrown(() => createOpenAIChatStreamDecoder().push(data({ error: { message: 'boom', type: 'server_error' } })));
    assert.equal(server.code, 'upstream_error');
    assert.equal(server.details.reason, 'stream_error');
  });
});

function encodeAll(parts: StreamPart[], includeUsage: boolean): SseEvent[] {
  const encoder = createOpenAIChatStreamEncoder({ id: 'chatcmpl-gw', publicModel: 'gpt-smart', created: 1_700_000_000, includeUsage });
  return parts.flatMap((part) => encoder.encode(part));
}

const usage = { inputTokens: 50, outputTokens: 20, cacheReadTokens: 32, reasoningTokens: 4 };
const toolStream: StreamPart[] = [
  { type: 'start', id: 'up', model: 'gpt-4o' },
  { type: 'text-delta', text: 'Checking.' },
  { type: 'tool-call-start', index: 0, id: 'call_a', name: 'get_weather' },
  { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
  { type: 'tool-call-start', index: 1, id: 'call_b', name: 'get_weather' },
  { type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' },
  { type: 'tool-call-delta', index: 1, argumentsDelta: '{"city":"Rome"}' },
  { type: 'usage', usage },
  { type: 'finish', finishReason: 'tool_calls' },
];

describe('OpenAI chat stream encoding', () => {
  test('role first, deltas, finish, usage chunk with empty choices, then [DONE]', () => {
    const events = encodeAll(toolStream, true);
    assert.equal(events.at(-1)?.data, '[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, 'gpt-smart');
      assert.equal(c.id, 'chatcmpl-gw');
      assert.equal(c.created, 1_700_000_000);
    }
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.deepEqual(chunks[1].choices[0].delta, { content: 'Checking.' });
    assert.deepEqual(chunks[2].choices[0].delta.tool_calls, [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }]);
    assert.deepEqual(chunks[3].choices[0].delta.tool_calls, [{ index: 0, function: { arguments: '{"city":' } }]);
    const finish = chunks.at(-2);
    assert.equal(finish.choices[0].finish_reason, 'tool_calls');
    const usageChunk = chunks.at(-1);
    assert.deepEqual(usageChunk.choices, []);
    assert.deepEqual(usageChunk.usage, {
      prompt_tokens: 50,
      completion_tokens: 20,
      total_tokens: 70,
      prompt_tokens_details: { cached_tokens: 32 },
      completion_tokens_details: { reasoning_tokens: 4 },
    });
  });

  test('usage stays hidden unless the client asked for it', () => {
    const events = encodeAll(toolStream, false);
    assert.equal(events.at(-1)?.data, '[DONE]');
    assert.ok(events.slice(0, -1).every((event) => JSON.parse(event.data).usage === undefined));
  });

  test('an error part ends with an in-band error and no [DONE]', () => {
    const error = new BreakwaterError('upstream_timeout', 'upstream stalled', { reason: 'idle_timeout', provider: 'openai' });
    const encoder = createOpenAIChatStreamEncoder({ id: 'x', publicModel: 'm', created: 1, includeUsage: true });
    const events = [{ type: 'start', id: 'x', model: 'm' }, { type: 'text-delta', text: 'par' }, { type: 'error', error }].flatMap((part) =>
      encoder.encode(part as StreamPart),
    );
    assert.equal(events.some((event) => event.data === '[DONE]'), false);
    assert.deepEqual(JSON.parse(events.at(-1)!.data), {
      error: { message: 'upstream stalled', type: 'server_error', code: 'upstream_timeout', param: null, retryable: true, provider: 'openai', reason: 'idle_timeout' },
    });
    assert.deepEqual(encoder.encode({ type: 'finish', finishReason: 'stop' }), [], 'nothing follows an error');
  });

  describe('read by the official OpenAI SDK', () => {
    let server: Server;
    let baseURL = '';
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          if (req.url === '/v1/embeddings') {
            const request = parseOpenAIEmbeddingRequest(JSON.parse(body));
            const answer = { model: 'e-up', embeddings: [[0.5, -1.25]], usage: { inputTokens: 2 } };
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(toOpenAIEmbeddingResponse(answer, request.model, request.encodingFormat)));
            return;
          }
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          for (const event of encodeAll(toolStream, true)) res.write(formatSseEvent(event));
          res.end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('accumulates text, both tool calls and usage from our stream', async () => {
      const client = new OpenAI({ apiKey: 'bw_test', baseURL, maxRetries: 0 });
      const stream = client.chat.completions.stream({ model: 'gpt-smart', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } });
      const final = await stream.finalChatCompletion();
      const message = final.choices[0].message;
      assert.equal(message.content, 'Checking.');
      assert.deepEqual(message.tool_calls?.map((call) => call.type === 'function' && [call.id, call.function.arguments]), [
        ['call_a', '{"city":"Paris"}'],
        ['call_b', '{"city":"Rome"}'],
      ]);
      assert.equal(final.choices[0].finish_reason, 'tool_calls');
      assert.equal(final.usage?.prompt_tokens_details?.cached_tokens, 32);
    });

    test('decodes our base64 embeddings, which it asks for by default', async () => {
      const client = new OpenAI({ apiKey: 'bw_test', baseURL, maxRetries: 0 });
      const result = await client.embeddings.create({ model: 'e', input: 'hello' });
      assert.deepEqual(result.data[0].embedding, [0.5, -1.25]);
      const floats = await client.embeddings.create({ model: 'e', input: 'hello', encoding_format: 'float' });
      assert.deepEqual(floats.data[0].embedding, [0.5, -1.25]);
    });
  });
});

describe('OpenAI embeddings and rate-limit headers', () => {
  test('embeddings: strings only, base64 is little-endian float32, vectors come back in index order', () => {
    assert.deepEqual(parseOpenAIEmbeddingRequest({ model: 'e', input: 'a', encoding_format: 'base64', extra_knob: 1 }), {
      model: 'e',
      input: ['a'],
      encodingFormat: 'base64',
      extra: { extra_knob: 1 },
    });
    assert.equal(thrown(() => parseOpenAIEmbeddingRequest({ model: 'e', input: [[1, 2]] })).param, 'input[0]');
    const res = parseOpenAIEmbeddingResponse({ data: [{ index: 1, embedding: [3, 4] }, { index: 0, embedding: [1.5, -2] }], model: 'e-up', usage: { prompt_tokens: 7 } });
    assert.deepEqual(res, { model: 'e-up', embeddings: [[1.5, -2], [3, 4]], usage: { inputTokens: 7 } });
    const body = toOpenAIEmbeddingResponse(res, 'e', 'base64') as Record<string, any>;
    assert.equal(body.data[0].embedding, Buffer.from(new Float32Array([1.5, -2]).buffer).toString('base64'));
    assert.deepEqual(decodeEmbeddingBase64(body.data[1].embedding), [3, 4]);
    assert.deepEqual(body.usage, { prompt_tokens: 7, total_tokens: 7 });
  });

  test('reads OpenAI and Anthropic rate-limit headers and both Retry-After forms', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.deepEqual(
      parseRateLimitHeaders(
        {
          'retry-after': '3',
          'x-ratelimit-limit-requests': '500',
          'x-ratelimit-remaining-requests': '499',
          'x-ratelimit-reset-requests': '6m0s',
          'x-ratelimit-limit-tokens': '30000',
          'x-ratelimit-remaining-tokens': '29000',
          'x-ratelimit-reset-tokens': '20ms',
        },
        now,
      ),
      { retryAfterMs: 3000, limitRequests: 500, remainingRequests: 499, resetRequestsMs: 360_000, limitTokens: 30000, remainingTokens: 29000, resetTokensMs: 20 },
    );
    assert.deepEqual(
      parseRateLimitHeaders(
        {
          'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT',
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': '2025-01-01T00:00:30Z',
          'anthropic-ratelimit-tokens-reset': '2025-01-01T00:01:00Z',
        },
        now,
      ),
      { retryAfterMs: 5000, limitRequests: 50, remainingRequests: 0, resetRequestsMs: 30_000, resetTokensMs: 60_000 },
    );
    assert.equal(parseRateLimitHeaders({ 'retry-after-ms': '250', 'retry-after': '9' }, now)?.retryAfterMs, 250);
    assert.equal(parseRateLimitHeaders({ 'x-ratelimit-reset-requests': '1h2m3.5s' }, now)?.resetRequestsMs, 3_723_500);
    assert.equal(parseRateLimitHeaders({ 'content-type': 'application/json' }, now), undefined);
  });
});
