import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BreakwaterError } from '../src/core/errors.js';
import type { CanonicalRequest, StreamPart } from '../src/core/types.js';
import {
  anthropicErrorType,
  createAnthropicMessagesStreamDecoder,
  createAnthropicMessagesStreamEncoder,
  droppedAnthropicMessagesParams,
  mapAnthropicStopReason,
  parseAnthropicMessagesRequest,
  parseAnthropicMessagesResponse,
  toAnthropicMessagesRequest,
  toAnthropicMessagesResponse,
} from '../src/protocols/anthropic-messages.js';
import { formatSseEvent, type SseEvent } from '../src/protocols/sse.js';

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };

/** A client body using every field the parser reads. */
function richRequest(): Record<string, unknown> {
  return {
    model: 'claude-smart',
    max_tokens: 1024,
    system: [
      { type: 'text', text: 'You are terse.' },
      { type: 'text', text: 'Reference manual…', cache_control: { type: 'ephemeral' } },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather where these were taken?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/rome.jpg' } },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Two cities: Paris and Rome.', signature: 'EqQBCgIYAhIM' },
          { type: 'text', text: 'Checking both.' },
          { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01', content: '18°C, clear' },
          { type: 'tool_result', tool_use_id: 'toolu_02', content: [{ type: 'text', text: 'service down' }], is_error: true },
          { type: 'text', text: 'And tomorrow?', cache_control: { type: 'ephemeral' } },
        ],
      },
      { role: 'assistant', content: [{ type: 'redacted_thinking', data: 'ENCRYPTED' }, { type: 'text', text: 'Sunny.' }] },
      { role: 'user', content: 'Thanks' },
    ],
    tools: [{ name: 'get_weather', description: 'Current weather', input_schema: weatherSchema, cache_control: { type: 'ephemeral' } }],
    tool_choice: { type: 'any', disable_parallel_tool_use: true },
    stop_sequences: ['\n\nHuman:'],
    temperature: 0.5,
    top_p: 0.9,
    top_k: 40,
    metadata: { user_id: 'user-42' },
    stream: true,
    thinking: { type: 'enabled', budget_tokens: 2048 },
    service_tier: 'auto',
  };
}

/** The same body with strings spelled as blocks, which is how the encoder writes them. */
function richRequestAsBlocks(): Record<string, unknown> {
  const body = richRequest();
  const messages = body.messages as Array<{ role: string; content: any }>;
  messages[2]!.content[0].content = [{ type: 'text', text: '18°C, clear' }];
  messages[4]!.content = [{ type: 'text', text: 'Thanks' }];
  return { ...body, model: 'claude-sonnet-4-5-20250929' };
}

function canonical(overrides: Partial<CanonicalRequest>): CanonicalRequest {
  return { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }], stream: false, ...overrides };
}

function invalidParam(body: unknown): string | undefined {
  try {
    parseAnthropicMessagesRequest(body);
  } catch (error) {
    assert.ok(error instanceof BreakwaterError);
    assert.equal(error.code, 'invalid_request');
    return error.param;
  }
  assert.fail('expected invalid_request');
}

function sse(event: string, data: unknown): SseEvent {
  return { event, data: JSON.stringify(data) };
}

function decodeAll(events: SseEvent[], unwrapJsonTool?: string): StreamPart[] {
  const decoder = createAnthropicMessagesStreamDecoder(unwrapJsonTool === undefined ? {} : { unwrapJsonTool });
  return [...events.flatMap((event) => decoder.push(event)), ...decoder.end()];
}

describe('Anthropic client requests', () => {
  test('a rich client body decodes to the canonical request', () => {
    const req = parseAnthropicMessagesRequest(richRequest());
    assert.deepEqual(req.messages[0], {
      role: 'system',
      content: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Reference manual…', cacheControl: { type: 'ephemeral' } },
      ],
    });
    assert.deepEqual(req.messages.map((m) => m.role), ['system', 'user', 'assistant', 'tool', 'tool', 'user', 'assistant', 'user']);
    assert.deepEqual(req.messages[1]!.content[1], { type: 'image', data: 'iVBORw0KGgo=', mediaType: 'image/png' });
    assert.deepEqual(req.messages[2]!.content[0], { type: 'reasoning', text: 'Two cities: Paris and Rome.', signature: 'EqQBCgIYAhIM' });
    assert.deepEqual(req.messages[2]!.content[2], { type: 'tool-call', id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' });
    assert.deepEqual(req.messages[4]!.content[0], {
      type: 'tool-result',
      toolCallId: 'toolu_02',
      content: [{ type: 'text', text: 'service down' }],
      isError: true,
    });
    assert.deepEqual(req.messages[6]!.content[0], { type: 'reasoning', text: '', redactedData: 'ENCRYPTED' });
    assert.equal(req.toolChoice, 'required');
    assert.equal(req.parallelToolCalls, false);
    assert.deepEqual(req.reasoning, { budgetTokens: 2048 });
    assert.deepEqual(req.stop, ['\n\nHuman:']);
    assert.equal(req.user, 'user-42');
    assert.equal(req.maxTokens, 1024);
    assert.equal(req.topK, 40);
    assert.equal(req.stream, true);
    assert.deepEqual(req.extra, { service_tier: 'auto' });
    assert.equal(req.extraDialect, 'anthropic-messages');
  });

  test('client body → canonical → upstream body round-trips equivalently', () => {
    const req = parseAnthropicMessagesRequest(richRequest());
    const body = toAnthropicMessagesRequest(req, 'claude-sonnet-4-5-20250929');
    assert.deepEqual(body, richRequestAsBlocks());
    assert.deepEqual(droppedAnthropicMessagesParams(req), []);
  });

  test('invalid client bodies name the offending param', () => {
    const ok = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };
    const withMessage = (message: unknown) => ({ ...ok, messages: [message] });
    const cases: Array<[unknown, string | undefined]> = [
      [{ ...ok, model: undefined }, 'model'],
      [{ ...ok, max_tokens: undefined }, 'max_tokens'],
      [{ ...ok, max_tokens: 0 }, 'max_tokens'],
      [{ ...ok, max_tokens: 1.5 }, 'max_tokens'],
      [{ ...ok, messages: [] }, 'messages'],
      [withMessage({ role: 'system', content: 'x' }), 'messages.0.role'],
      [withMessage({ role: 'user', content: 7 }), 'messages.0.content'],
      [{ ...ok, messages: [ok.messages[0], { role: 'assistant', content: [{ type: 'document' }] }] }, 'messages.1.content.0.type'],
      [withMessage({ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }), 'messages.0.content.0.type'],
      [withMessage({ role: 'user', content: [{ type: 'text' }] }), 'messages.0.content.0.text'],
      [withMessage({ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }), 'messages.0.content.0.source.type'],
      [withMessage({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'document' }] }] }), 'messages.0.content.0.content.0.type'],
      [withMessage({ role: 'assistant', content: [{ type: 'tool_use', id: 'a', name: 'b', input: 'x' }] }), 'messages.0.content.0.input'],
      [{ ...ok, system: 5 }, 'system'],
      [{ ...ok, system: [{ type: 'image' }] }, 'system.0.type'],
      [{ ...ok, tools: [{ name: 'x' }] }, 'tools.0.input_schema'],
      [{ ...ok, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools.0.type'],
      [{ ...ok, tool_choice: { type: 'bogus' } }, 'tool_choice.type'],
      [{ ...ok, tool_choice: { type: 'tool' } }, 'tool_choice.name'],
      [{ ...ok, temperature: 2 }, 'temperature'],
      [{ ...ok, top_k: -1 }, 'top_k'],
      [{ ...ok, stop_sequences: 'x' }, 'stop_sequences'],
      [{ ...ok, thinking: { type: 'enabled', budget_tokens: -1 } }, 'thinking.budget_tokens'],
      [{ ...ok, metadata: { user_id: 3 } }, 'metadata.user_id'],
      [{ ...ok, stream: 'yes' }, 'stream'],
      ['not an object', undefined],
    ];
    for (const [body, param] of cases) assert.equal(invalidParam(body), param, JSON.stringify(body));
    assert.doesNotThrow(() => parseAnthropicMessagesRequest(ok));
  });
});

describe('canonical → Anthropic upstream body', () => {
  test('an OpenAI-style conversation becomes a valid alternating Anthropic body', () => {
    const req = canonical({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
        { role: 'system', content: [{ type: 'text', text: 'Use metric units.' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: '' },
            { type: 'tool-call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { type: 'tool-call', id: 'call_2', name: 'get_weather', arguments: '{"city": "Ro' },
          ],
        },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: [{ type: 'text', text: '18' }] }] },
        { role: 'user', content: [{ type: 'text', text: 'Also this:' }, { type: 'image', url: 'data:image/jpeg;base64,/9j/4AAQ' }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_2', content: [{ type: 'text', text: '21' }] }] },
        { role: 'assistant', content: [{ type: 'reasoning', text: 'unsigned thoughts' }, { type: 'text', text: 'Paris 18, Rome 21.' }] },
      ],
      tools: [{ name: 'get_weather', parameters: weatherSchema, strict: true }],
      toolChoice: 'required',
      parallelToolCalls: false,
      stop: ['END'],
      seed: 7,
      user: 'u1',
      extra: { logprobs: true, frequency_penalty: 0.5 },
      extraDialect: 'openai-chat',
    });
    const body = toAnthropicMessagesRequest(req, 'claude-haiku');
    assert.deepEqual(body, {
      model: 'claude-haiku',
      max_tokens: 4096,
      system: [
        { type: 'text', text: 'Be brief.' },
        { type: 'text', text: 'Use metric units.' },
      ],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hi' }, { type: 'text', text: 'Weather in Paris and Rome?' }] },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'call_2', name: 'get_weather', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: '18' }] },
            { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '21' }] },
            { type: 'text', text: 'Also this:' },
            { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/4AAQ' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Paris 18, Rome 21.' }] },
      ],
      stop_sequences: ['END'],
      metadata: { user_id: 'u1' },
      tools: [{ name: 'get_weather', input_schema: weatherSchema }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
    });
    const roles = (body.messages as Array<{ role: string }>).map((m) => m.role);
    roles.forEach((role, i) => assert.equal(role, i % 2 === 0 ? 'user' : 'assistant'));
    assert.deepEqual(droppedAnthropicMessagesParams(req), ['seed', 'tools.strict', 'logprobs', 'frequency_penalty']);
  });

  test('json_schema becomes a forced json_output tool; thinking falls back to auto', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const format = { type: 'json_schema' as const, name: 'answer', schema };
    const body = toAnthropicMessagesRequest(canonical({ responseFormat: format }), 'claude');
    assert.deepEqual((body.tools as any[])[0].input_schema, schema);
    assert.equal((body.tools as any[])[0].name, 'json_output');
    assert.deepEqual(body.tool_choice, { type: 'tool', name: 'json_output' });

    const jsonObject = toAnthropicMessagesRequest(canonical({ responseFormat: { type: 'json_object' } }), 'claude');
    assert.deepEqual((jsonObject.tools as any[])[0].input_schema, { type: 'object' });

    const taken = canonical({ responseFormat: format, tools: [{ name: 'json_output', parameters: { type: 'object' } }] });
    assert.deepEqual(toAnthropicMessagesRequest(taken, 'claude').tool_choice, { type: 'tool', name: 'json_output_2' });

    const thinking = toAnthropicMessagesRequest(canonical({ responseFormat: format, reasoning: { budgetTokens: 2048 } }), 'claude');
    assert.deepEqual(thinking.tool_choice, { type: 'auto' });
    assert.equal(thinking.max_tokens, 2048 + 4096);
  });
});

const realResponse = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'The user wants Paris weather.', signature: 'EqQBCgIYAhIM' },
    { type: 'text', text: 'Let me check.' },
    { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { city: 'Paris' } },
  ],
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage: {
    input_tokens: 25,
    cache_creation_input_tokens: 100,
    cache_read_input_tokens: 2000,
    cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 0 },
    output_tokens: 60,
    service_tier: 'standard',
  },
};

describe('Anthropic responses', () => {
  test('a real-shaped response decodes with cache usage and re-encodes for a client', () => {
    const res = parseAnthropicMessagesResponse(realResponse);
    assert.deepEqual(res.content, [
      { type: 'reasoning', text: 'The user wants Paris weather.', signature: 'EqQBCgIYAhIM' },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool-call', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', arguments: '{"city":"Paris"}' },
    ]);
    assert.equal(res.finishReason, 'tool_calls');
    assert.deepEqual(res.usage, { inputTokens: 2125, outputTokens: 60, cacheReadTokens: 2000, cacheWriteTokens: 100 });
    const client = toAnthropicMessagesResponse(res, 'claude-smart');
    assert.deepEqual(client, {
      id: realResponse.id,
      type: 'message',
      role: 'assistant',
      model: 'claude-smart',
      content: realResponse.content,
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 25, output_tokens: 60, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000 },
    });
  });

  test('stop reasons map both ways, stop sequences included', () => {
    assert.equal(mapAnthropicStopReason('end_turn'), 'stop');
    assert.equal(mapAnthropicStopReason('max_tokens'), 'length');
    assert.equal(mapAnthropicStopReason('refusal'), 'content_filter');
    assert.equal(mapAnthropicStopReason('pause_turn'), 'other');
    const stopped = parseAnthropicMessagesResponse({ ...realResponse, content: [], stop_reason: 'stop_sequence', stop_sequence: '###' });
    assert.equal(stopped.finishReason, 'stop');
    const client = toAnthropicMessagesResponse(stopped, 'x');
    assert.equal(client.stop_reason, 'stop_sequence');
    assert.equal(client.stop_sequence, '###');
    const foreign = toAnthropicMessagesResponse({ ...stopped, id: 'chatcmpl-1', rawFinishReason: 'stop', stopSequence: undefined }, 'x');
    assert.equal(foreign.stop_reason, 'end_turn');
    assert.equal(foreign.id, 'msg_chatcmpl-1');
    assert.equal(toAnthropicMessagesResponse({ ...stopped, finishReason: 'length', rawFinishReason: 'length' }, 'x').stop_reason, 'max_tokens');
  });

  test('the forced JSON tool is unwrapped into text content', () => {
    const body = {
      ...realResponse,
      content: [
        { type: 'text', text: 'Here you go:' },
        { type: 'tool_use', id: 'toolu_x', name: 'json_output', input: { answer: 'Paris' } },
      ],
    };
    const res = parseAnthropicMessagesResponse(body, { unwrapJsonTool: 'json_output' });
    assert.deepEqual(res.content, [{ type: 'text', text: '{"answer":"Paris"}' }]);
    assert.equal(res.finishReason, 'stop');
    assert.equal(res.rawFinishReason, 'tool_use');
  });
});

/** A stream shaped like Anthropic's own: ping, thinking with signature, text, a tool with fragments. */
function realStream(): SseEvent[] {
  return [
    sse('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_01WBeG2NaYQ8w99747S3n8MZ', type: 'message', role: 'assistant', model: 'claude-sonnet-4-20250514',
        content: [], stop_reason: null, stop_sequence: null,
        usage: { input_tokens: 423, cache_creation_input_tokens: 10, cache_read_input_tokens: 1000, output_tokens: 6, service_tier: 'standard' },
      },
    }),
    sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
    { event: 'ping', data: '{"type": "ping"}' },
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'The user is asking for' } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAhIM' } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
    sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking' } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
    sse('content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city": "Pa' } }),
    sse('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'ris"}' } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 2 }),
    sse('content_block_start', { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_02', name: 'now', input: {} } }),
    sse('content_block_stop', { type: 'content_block_stop', index: 3 }),
    sse('message_delta', {
      type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 89, input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null },
    }),
    sse('message_stop', { type: 'message_stop' }),
  ];
}

const finalUsage = { inputTokens: 1433, outputTokens: 89, cacheReadTokens: 1000, cacheWriteTokens: 10 };

describe('Anthropic upstream streams', () => {
  test('a real-shaped stream decodes to canonical parts with 0-based tool indices', () => {
    assert.deepEqual(decodeAll(realStream()), [
      { type: 'start', id: 'msg_01WBeG2NaYQ8w99747S3n8MZ', model: 'claude-sonnet-4-20250514' },
      { type: 'usage', usage: { inputTokens: 1433, outputTokens: 6, cacheReadTokens: 1000, cacheWriteTokens: 10 } },
      { type: 'reasoning-delta', text: 'The user is asking for' },
      { type: 'reasoning-delta', text: '', signature: 'EqQBCgIYAhIM' },
      { type: 'text-delta', text: 'Checking' },
      { type: 'tool-call-start', index: 0, id: 'toolu_01', name: 'get_weather' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city": "Pa' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: 'ris"}' },
      { type: 'tool-call-start', index: 1, id: 'toolu_02', name: 'now' },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{}' },
      { type: 'usage', usage: finalUsage },
      { type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'tool_use', usage: finalUsage },
    ]);
  });

  test('the forced JSON tool streams as text and finishes with stop', () => {
    const events = [
      realStream()[0]!,
      sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Sure:' } }),
      sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
      sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'json_output', input: {} } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"answer":' } }),
      sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: ' "Paris"}' } }),
      sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
      sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }),
      sse('message_stop', { type: 'message_stop' }),
    ];
    const parts = decodeAll(events, 'json_output');
    const text = parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : [])).join('');
    assert.deepEqual(JSON.parse(text), { answer: 'Paris' });
    assert.ok(!parts.some((p) => p.type === 'tool-call-start'));
    assert.deepEqual(parts.at(-1), { type: 'finish', finishReason: 'stop', rawFinishReason: 'tool_use', usage: { inputTokens: 1433, outputTokens: 12, cacheReadTokens: 1000, cacheWriteTokens: 10 } });
  });

  test('in-stream errors, malformed data and truncation throw classified errors', () => {
    const overloaded = createAnthropicMessagesStreamDecoder();
    overloaded.push(realStream()[0]!);
    assert.throws(
      () => overloaded.push(sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })),
      (e: unknown) => e instanceof BreakwaterError && e.code === 'upstream_unavailable' && e.retryable && e.message === 'Overloaded',
    );
    assert.throws(
      () => createAnthropicMessagesStreamDecoder().push(sse('error', { type: 'error', error: { type: 'api_error', message: 'boom' } })),
      (e: unknown) => e instanceof BreakwaterError && e.code === 'upstream_error',
    );
    assert.throws(
      () => createAnthropicMessagesStreamDecoder().push({ event: 'content_block_delta', data: '{"type":"content_' }),
      (e: unknown) => e instanceof BreakwaterError && e.code === 'upstream_error' && e.details.reason === 'malformed_chunk',
    );
    const truncated = createAnthropicMessagesStreamDecoder();
    realStream().slice(0, 8).forEach((event) => truncated.push(event));
    assert.throws(() => truncated.end(), (e: unknown) => e instanceof BreakwaterError && e.details.reason === 'stream_truncated');
    const stoppedButUnterminated = createAnthropicMessagesStreamDecoder();
    realStream().slice(0, -1).forEach((event) => stoppedButUnterminated.push(event));
    assert.deepEqual(stoppedButUnterminated.end().map((p) => p.type), ['finish']);
  });
});

describe('Anthropic client streams', () => {
  let server: Server;
  let baseURL: string;
  let nextStream = '';

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.end(nextStream);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function encodeAll(parts: StreamPart[]): string {
    const encoder = createAnthropicMessagesStreamEncoder({ id: 'msg_test', publicModel: 'claude-smart' });
    return parts.flatMap((part) => encoder.encode(part)).map(formatSseEvent).join('');
  }

  function client(): Anthropic {
    return new Anthropic({ baseURL, apiKey: 'x', maxRetries: 0 });
  }

  const params = { model: 'claude-smart', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Weather?' }] };

  test('the official SDK rebuilds the final message from the encoded stream', async () => {
    // What an OpenAI upstream looks like: usage only at the end, tool arguments in fragments.
    nextStream = encodeAll([
      { type: 'start', id: 'chatcmpl-9', model: 'gpt-x' },
      { type: 'reasoning-delta', text: 'Think' },
      { type: 'reasoning-delta', text: 'ing.' },
      { type: 'reasoning-delta', text: '', signature: 'sig' },
      { type: 'text-delta', text: 'Let me ' },
      { type: 'text-delta', text: 'check.' },
      { type: 'tool-call-start', index: 0, id: 'call_1', name: 'get_weather' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' },
      { type: 'tool-call-start', index: 1, id: 'call_2', name: 'get_weather' },
      { type: 'tool-call-delta', index: 1, argumentsDelta: '{"city":"Rome"}' },
      { type: 'usage', usage: { inputTokens: 1200, outputTokens: 40, cacheReadTokens: 1000 } },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    const message = await client().messages.stream(params).finalMessage();
    assert.deepEqual(JSON.parse(JSON.stringify(message)), {
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model: 'claude-smart',
      content: [
        { type: 'thinking', thinking: 'Thinking.', signature: 'sig' },
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Rome' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 200, output_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 1000 },
      parsed_output: null,
    });
  });

  test('an upstream Anthropic stream survives decode → encode → SDK', async () => {
    nextStream = encodeAll(decodeAll(realStream()));
    const message = await client().messages.stream(params).finalMessage();
    assert.deepEqual(
      message.content.map((block) => block.type),
      ['thinking', 'text', 'tool_use', 'tool_use'],
    );
    assert.deepEqual(message.content[2], { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } });
    assert.deepEqual(message.usage, { input_tokens: 423, output_tokens: 89, cache_creation_input_tokens: 10, cache_read_input_tokens: 1000 });
  });

  test('an error part surfaces as an SDK error, without message_stop', async () => {
    const error = new BreakwaterError('upstream_unavailable', 'all deployments overloaded', { reason: 'overloaded_error' });
    nextStream = encodeAll([
      { type: 'start', id: 'x', model: 'm' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'error', error },
    ]);
    assert.ok(!nextStream.includes('message_stop'));
    await assert.rejects(client().messages.stream(params).finalMessage(), (e: unknown) => {
      assert.ok(e instanceof Anthropic.APIError);
      assert.equal((e.error as any).error.type, 'overloaded_error');
      assert.equal((e.error as any).error.code, 'upstream_unavailable');
      assert.equal((e.error as any).error.retryable, true);
      return true;
    });
  });
});

test('our error codes map to Anthropic error types', () => {
  assert.equal(anthropicErrorType('invalid_request'), 'invalid_request_error');
  assert.equal(anthropicErrorType('context_length_exceeded'), 'invalid_request_error');
  assert.equal(anthropicErrorType('invalid_api_key'), 'authentication_error');
  assert.equal(anthropicErrorType('model_not_allowed'), 'permission_error');
  assert.equal(anthropicErrorType('model_not_found'), 'not_found_error');
  assert.equal(anthropicErrorType('request_too_large'), 'request_too_large');
  assert.equal(anthropicErrorType('rate_limited'), 'rate_limit_error');
  assert.equal(anthropicErrorType('upstream_error'), 'api_error');
  assert.equal(anthropicErrorType('overloaded'), 'overloaded_error');
});
