import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BreakwaterError } from '../src/core/errors.js';
import type { CanonicalResponse, StreamPart } from '../src/core/types.js';
import {
  createOpenAIResponsesStreamEncoder,
  mapFinishReasonToResponseStatus,
  parseOpenAIResponsesRequest,
  responseOutputToMessages,
  toOpenAIResponsesResponse,
  withConversationHistory,
  type ResponseItemIdFactory,
  type ResponsesEcho,
  type ResponsesStreamEncoderOptions,
} from '../src/protocols/openai-responses.js';
import type { SseEvent } from '../src/protocols/sse.js';

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const answerSchema = { type: 'object', properties: { summary: { type: 'string' } }, required: ['summary'], additionalProperties: false };

/** Item ids msg_1, fc_2, … so whole objects can be compared. */
function counterIds(): ResponseItemIdFactory {
  let n = 0;
  return (prefix) => `${prefix}_${++n}`;
}

/** A client body using every field the parser reads, plus two it does not. */
function richBody(): Record<string, unknown> {
  return {
    model: 'gpt-smart',
    instructions: 'Be terse.',
    input: [
      { role: 'developer', content: 'Answer in English.' },
      {
        type: 'message',
        role: 'user',
        content: [
          { type: 'input_text', text: 'Weather where these were taken?' },
          { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' },
          { type: 'input_image', image_url: 'https://example.com/rome.jpg' },
        ],
      },
      { type: 'reasoning', id: 'rs_old', summary: [] },
      { type: 'message', role: 'assistant', id: 'msg_old', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
      { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '18°C, clear' },
      { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'service down' }] },
      { role: 'user', content: 'Summarise.' },
    ],
    tools: [{ type: 'function', name: 'get_weather', description: 'Current weather', parameters: weatherSchema, strict: true }],
    tool_choice: { type: 'function', name: 'get_weather' },
    text: { format: { type: 'json_schema', name: 'answer', schema: answerSchema, strict: true } },
    max_output_tokens: 300,
    temperature: 0.2,
    top_p: 0.9,
    stream: true,
    background: true,
    previous_response_id: 'resp_prev',
    metadata: { ticket: 'T-1' },
    user: 'ada',
    parallel_tool_calls: false,
    reasoning: { effort: 'low', summary: 'auto' },
    truncation: 'auto',
    include: ['reasoning.encrypted_content'],
    service_tier: 'flex',
  };
}

describe('OpenAI Responses requests', () => {
  test('parses a rich client body into the canonical request, storage flags and echo', () => {
    const parsed = parseOpenAIResponsesRequest(richBody());
    assert.deepEqual(parsed.request, {
      model: 'gpt-smart',
      stream: true,
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be terse.' }] },
        { role: 'system', content: [{ type: 'text', text: 'Answer in English.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather where these were taken?' },
            { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=', detail: 'high' },
            { type: 'image', url: 'https://example.com/rome.jpg' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool-call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
            { type: 'tool-call', id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
          ],
        },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', content: [{ type: 'text', text: '18°C, clear' }] }] },
        { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_2', content: [{ type: 'text', text: 'service down' }] }] },
        { role: 'user', content: [{ type: 'text', text: 'Summarise.' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Current weather', parameters: weatherSchema, strict: true }],
      toolChoice: { name: 'get_weather' },
      parallelToolCalls: false,
      maxTokens: 300,
      temperature: 0.2,
      topP: 0.9,
      reasoning: { effort: 'low' },
      responseFormat: { type: 'json_schema', name: 'answer', schema: answerSchema, strict: true },
      user: 'ada',
      metadata: { ticket: 'T-1' },
      extra: { include: ['reasoning.encrypted_content'], service_tier: 'flex' },
      extraDialect: 'openai-responses',
    });
    assert.equal(parsed.background, true);
    assert.equal(parsed.store, true);
    assert.equal(parsed.previousResponseId, 'resp_prev');
    assert.equal(parsed.instructions, 'Be terse.');
    assert.deepEqual(parsed.ignored, ['input[2]'], 'the reasoning item is reported, not silently lost');
    assert.deepEqual(parsed.echo, {
      background: true,
      instructions: 'Be terse.',
      max_output_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      reasoning: { effort: 'low', summary: 'auto' },
      metadata: { ticket: 'T-1' },
      tools: [{ type: 'function', name: 'get_weather', description: 'Current weather', parameters: weatherSchema, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      previous_response_id: 'resp_prev',
      store: true,
      text: { format: { type: 'json_schema', name: 'answer', schema: answerSchema, strict: true } },
      truncation: 'auto',
      user: 'ada',
    });
  });

  test('a string input is one user message; the echo carries OpenAI defaults', () => {
    const parsed = parseOpenAIResponsesRequest({ model: 'm', input: 'hi', tools: [{ type: 'function', name: 'noop' }] });
    assert.deepEqual(parsed.request.messages, [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    assert.equal(parsed.request.stream, false);
    assert.equal(parsed.request.extra, undefined);
    assert.deepEqual(parsed.request.tools, [{ name: 'noop', parameters: { type: 'object', properties: {} } }]);
    assert.deepEqual(
      { background: parsed.background, store: parsed.store, previous: parsed.previousResponseId, instructions: parsed.instructions },
      { background: false, store: true, previous: undefined, instructions: undefined },
    );
    assert.deepEqual(parsed.echo, {
      background: false,
      instructions: null,
      max_output_tokens: null,
      temperature: null,
      top_p: null,
      reasoning: { effort: null, summary: null },
      metadata: {},
      tools: [{ type: 'function', name: 'noop', description: null, parameters: { type: 'object', properties: {} }, strict: null }],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      previous_response_id: null,
      store: true,
      text: { format: { type: 'text' } },
      truncation: 'disabled',
      user: null,
    });
  });

  test('store: false without background is fine; null fields count as absent', () => {
    const parsed = parseOpenAIResponsesRequest({ model: 'm', input: 'hi', store: false, background: null, temperature: null, text: { format: { type: 'json_object' } } });
    assert.equal(parsed.store, false);
    assert.equal(parsed.background, false);
    assert.equal(parsed.request.temperature, undefined);
    assert.deepEqual(parsed.request.responseFormat, { type: 'json_object' });
  });

  test('previous_response_id may stand without input; history goes between instructions and new input', () => {
    const bare = parseOpenAIResponsesRequest({ model: 'm', previous_response_id: 'resp_1' });
    assert.deepEqual(bare.request.messages, []);
    const parsed = parseOpenAIResponsesRequest({ model: 'm', previous_response_id: 'resp_1', instructions: 'Now in French.', input: 'Again?' });
    const history = [
      { role: 'user' as const, content: [{ type: 'text' as const, text: 'Hi' }] },
      { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'Hello' }] },
    ];
    const request = withConversationHistory(parsed, history);
    assert.deepEqual(
      request.messages.map((m) => [m.role, m.content[0]?.type === 'text' ? m.content[0].text : '']),
      [
        ['system', 'Now in French.'],
        ['user', 'Hi'],
        ['assistant', 'Hello'],
        ['user', 'Again?'],
      ],
    );
    assert.equal(parsed.request.messages.length, 2, 'the parsed request is left as it was');
  });

  const user = { role: 'user', content: 'hi' };
  const invalidBodies: Array<[string, unknown, string | undefined]> = [
    ['a non-object body', [], undefined],
    ['a missing model', { input: 'hi' }, 'model'],
    ['an empty model', { model: '', input: 'hi' }, 'model'],
    ['a missing input', { model: 'm' }, 'input'],
    ['an empty input array', { model: 'm', input: [] }, 'input'],
    ['a numeric input', { model: 'm', input: 42 }, 'input'],
    ['a non-object input item', { model: 'm', input: ['hi'] }, 'input[0]'],
    ['an unknown role', { model: 'm', input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    ['a numeric content', { model: 'm', input: [{ role: 'user', content: 7 }] }, 'input[0].content'],
    ['an output_text part from the user', { model: 'm', input: [user, { role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'output_text', text: 'b' }] }] }, 'input[1].content[1].type'],
    ['an image in a system message', { model: 'm', input: [{ role: 'system', content: [{ type: 'input_image', image_url: 'https://x/y.png' }] }] }, 'input[0].content[0].type'],
    ['an input_file part', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }, 'input[0].content[0].type'],
    ['a file_id image', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1', detail: 'auto' }] }] }, 'input[0].content[0].image_url'],
    ['a numeric input_text', { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: 5 }] }] }, 'input[0].content[0].text'],
    ['an input_image part in an assistant message', { model: 'm', input: [user, { role: 'assistant', content: [{ type: 'input_image', image_url: 'https://x' }] }] }, 'input[1].content[0].type'],
    ['a refusal without text', { model: 'm', input: [user, { role: 'assistant', content: [{ type: 'refusal' }] }] }, 'input[1].content[0].refusal'],
    ['a function_call without call_id', { model: 'm', input: [user, { type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[1].call_id'],
    ['a function_call with object arguments', { model: 'm', input: [user, { type: 'function_call', call_id: 'c', name: 'f', arguments: {} }] }, 'input[1].arguments'],
    ['a function_call without name', { model: 'm', input: [user, { type: 'function_call', call_id: 'c', arguments: '{}' }] }, 'input[1].name'],
    ['a function_call_output with an empty call_id', { model: 'm', input: [user, { type: 'function_call_output', call_id: '', output: 'x' }] }, 'input[1].call_id'],
    ['a function_call_output with a numeric output', { model: 'm', input: [user, { type: 'function_call_output', call_id: 'c', output: 3 }] }, 'input[1].output'],
    ['a built-in tool call item', { model: 'm', input: [user, { type: 'web_search_call', id: 'ws_1' }] }, 'input[1].type'],
    ['an item_reference', { model: 'm', input: [user, { type: 'item_reference', id: 'msg_1' }] }, 'input[1].type'],
    ['a numeric instructions', { model: 'm', input: 'hi', instructions: 3 }, 'instructions'],
    ['tools as an object', { model: 'm', input: 'hi', tools: {} }, 'tools'],
    ['a built-in web_search tool', { model: 'm', input: 'hi', tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] }, 'tools[1].type'],
    ['a function tool without name', { model: 'm', input: 'hi', tools: [{ type: 'function', parameters: {} }] }, 'tools[0].name'],
    ['a function tool with array parameters', { model: 'm', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: [] }] }, 'tools[0].parameters'],
    ['a string strict', { model: 'm', input: 'hi', tools: [{ type: 'function', name: 'f', strict: 'yes' }] }, 'tools[0].strict'],
    ['an unknown tool_choice', { model: 'm', input: 'hi', tool_choice: 'any' }, 'tool_choice'],
    ['a built-in tool_choice', { model: 'm', input: 'hi', tool_choice: { type: 'file_search' } }, 'tool_choice'],
    ['a function tool_choice without name', { model: 'm', input: 'hi', tool_choice: { type: 'function' } }, 'tool_choice.name'],
    ['text as a string', { model: 'm', input: 'hi', text: 'json' }, 'text'],
    ['an unknown text.format.type', { model: 'm', input: 'hi', text: { format: { type: 'xml' } } }, 'text.format.type'],
    ['a json_schema without name', { model: 'm', input: 'hi', text: { format: { type: 'json_schema', schema: {} } } }, 'text.format.name'],
    ['a json_schema without schema', { model: 'm', input: 'hi', text: { format: { type: 'json_schema', name: 'a' } } }, 'text.format.schema'],
    ['a string json_schema strict', { model: 'm', input: 'hi', text: { format: { type: 'json_schema', name: 'a', schema: {}, strict: 1 } } }, 'text.format.strict'],
    ['zero max_output_tokens', { model: 'm', input: 'hi', max_output_tokens: 0 }, 'max_output_tokens'],
    ['fractional max_output_tokens', { model: 'm', input: 'hi', max_output_tokens: 2.5 }, 'max_output_tokens'],
    ['temperature above 2', { model: 'm', input: 'hi', temperature: 2.5 }, 'temperature'],
    ['top_p as a string', { model: 'm', input: 'hi', top_p: '1' }, 'top_p'],
    ['stream as a string', { model: 'm', input: 'hi', stream: 'yes' }, 'stream'],
    ['background as a number', { model: 'm', input: 'hi', background: 1 }, 'background'],
    ['store as a string', { model: 'm', input: 'hi', store: 'no' }, 'store'],
    ['background with store false (SEC-5)', { model: 'm', input: 'hi', background: true, store: false }, 'background'],
    ['a numeric previous_response_id', { model: 'm', input: 'hi', previous_response_id: 9 }, 'previous_response_id'],
    ['an empty previous_response_id', { model: 'm', input: 'hi', previous_response_id: '' }, 'previous_response_id'],
    ['a numeric metadata value', { model: 'm', input: 'hi', metadata: { a: 1 } }, 'metadata.a'],
    ['seventeen metadata pairs', { model: 'm', input: 'hi', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
    ['a metadata value over 512 characters', { model: 'm', input: 'hi', metadata: { a: 'x'.repeat(513) } }, 'metadata.a'],
    ['a numeric user', { model: 'm', input: 'hi', user: 7 }, 'user'],
    ['a string parallel_tool_calls', { model: 'm', input: 'hi', parallel_tool_calls: 'yes' }, 'parallel_tool_calls'],
    ['reasoning as a string', { model: 'm', input: 'hi', reasoning: 'high' }, 'reasoning'],
    ['a numeric reasoning.effort', { model: 'm', input: 'hi', reasoning: { effort: 3 } }, 'reasoning.effort'],
    ['an unknown truncation', { model: 'm', input: 'hi', truncation: 'middle' }, 'truncation'],
  ];
  for (const [name, body, param] of invalidBodies) {
    test(`rejects ${name} with invalid_request naming ${param ?? 'no param'}`, () => {
      assert.throws(() => parseOpenAIResponsesRequest(body), { name: 'BreakwaterError', code: 'invalid_request', status: 400, param });
    });
  }
});

const echo: ResponsesEcho = parseOpenAIResponsesRequest({ model: 'gpt-smart', input: 'hi', metadata: { ticket: 'T-1' }, temperature: 0.5 }).echo;

function canonical(content: CanonicalResponse['content'], finishReason: CanonicalResponse['finishReason']): CanonicalResponse {
  return {
    id: 'up-1',
    model: 'upstream-model',
    content,
    finishReason,
    usage: { inputTokens: 50, outputTokens: 20, cacheReadTokens: 32, reasoningTokens: 4 },
  };
}

describe('OpenAI Responses objects', () => {
  test('encodes a canonical answer: reasoning, one message, two function calls, usage details and the echo', () => {
    const res = canonical(
      [
        { type: 'reasoning', text: 'Need weather ' },
        { type: 'reasoning', text: 'for both.' },
        { type: 'text', text: 'Checking ' },
        { type: 'text', text: 'both.' },
        { type: 'tool-call', id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'tool-call', id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
      ],
      'tool_calls',
    );
    const object = toOpenAIResponsesResponse(res, { id: 'resp_1', createdAt: 1_700_000_000, publicModel: 'gpt-smart', echo, newItemId: counterIds() });
    assert.deepEqual(object, {
      id: 'resp_1',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      background: false,
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      model: 'gpt-smart',
      output: [
        { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Need weather for both.' }] },
        {
          id: 'msg_2',
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Checking both.', annotations: [], logprobs: [] }],
        },
        { id: 'fc_3', type: 'function_call', status: 'completed', call_id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'fc_4', type: 'function_call', status: 'completed', call_id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      store: true,
      temperature: 0.5,
      text: { format: { type: 'text' } },
      tool_choice: 'auto',
      tools: [],
      top_p: null,
      truncation: 'disabled',
      usage: {
        input_tokens: 50,
        input_tokens_details: { cached_tokens: 32, cache_write_tokens: 0 },
        output_tokens: 20,
        output_tokens_details: { reasoning_tokens: 4 },
        total_tokens: 70,
      },
      user: null,
      metadata: { ticket: 'T-1' },
    });
    assert.deepEqual(responseOutputToMessages(object.output), [
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking both.' },
          { type: 'tool-call', id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'tool-call', id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        ],
      },
    ]);
  });

  test('maps finish reasons to status and incomplete_details; a cut answer marks its last item incomplete', () => {
    assert.deepEqual(mapFinishReasonToResponseStatus('stop'), { status: 'completed', incompleteReason: null });
    assert.deepEqual(mapFinishReasonToResponseStatus('tool_calls'), { status: 'completed', incompleteReason: null });
    assert.deepEqual(mapFinishReasonToResponseStatus('other'), { status: 'completed', incompleteReason: null });
    assert.deepEqual(mapFinishReasonToResponseStatus('length'), { status: 'incomplete', incompleteReason: 'max_output_tokens' });
    assert.deepEqual(mapFinishReasonToResponseStatus('content_filter'), { status: 'incomplete', incompleteReason: 'content_filter' });
    assert.deepEqual(mapFinishReasonToResponseStatus('error'), { status: 'failed', incompleteReason: null });
    const options = { id: 'resp_1', createdAt: 1, publicModel: 'm', echo, newItemId: counterIds() };
    const cut = toOpenAIResponsesResponse(canonical([{ type: 'text', text: 'Once upon' }], 'length'), options);
    assert.equal(cut.status, 'incomplete');
    assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(cut.output[0]?.type === 'message' && cut.output[0].status, 'incomplete');
    const filtered = toOpenAIResponsesResponse(canonical([], 'content_filter'), options);
    assert.deepEqual([filtered.status, filtered.incomplete_details, filtered.output], ['incomplete', { reason: 'content_filter' }, []]);
    const failed = toOpenAIResponsesResponse(canonical([{ type: 'text', text: 'x' }], 'error'), options);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'upstream_error');
    assert.equal(failed.error?.retryable, true);
  });
});

const OPTIONS: ResponsesStreamEncoderOptions = { id: 'resp_s', publicModel: 'gpt-smart', createdAt: 1_700_000_000, echo };

function encodeAll(parts: StreamPart[], options: Partial<ResponsesStreamEncoderOptions> = {}): { events: SseEvent[]; data: Array<Record<string, any>> } {
  const encoder = createOpenAIResponsesStreamEncoder({ ...OPTIONS, newItemId: counterIds(), ...options });
  const events = parts.flatMap((part) => encoder.encode(part));
  return { events, data: events.map((event) => JSON.parse(event.data)) };
}

/** Checks the invariants every stream keeps: `event` = `type`, contiguous sequence numbers. */
function assertWellFormed(events: SseEvent[], data: Array<Record<string, any>>, first = 0): void {
  events.forEach((event, i) => assert.equal(event.event, data[i]!.type));
  assert.deepEqual(
    data.map((d) => d.sequence_number),
    data.map((_, i) => first + i),
  );
}

const usage = { inputTokens: 50, outputTokens: 20, cacheReadTokens: 32, reasoningTokens: 4 };
const toolParts: StreamPart[] = [
  { type: 'start', id: 'up', model: 'upstream' },
  { type: 'reasoning-delta', text: 'Need ' },
  { type: 'reasoning-delta', text: 'weather.' },
  { type: 'reasoning-delta', text: '', signature: 'sig' },
  { type: 'text-delta', text: 'Checking ' },
  { type: 'text-delta', text: 'both.' },
  { type: 'tool-call-start', index: 0, id: 'call_a', name: 'get_weather' },
  { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
  { type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' },
  { type: 'tool-call-start', index: 1, id: 'call_b', name: 'get_weather' },
  { type: 'tool-call-delta', index: 1, argumentsDelta: '{"city":"Rome"}' },
  { type: 'usage', usage },
  { type: 'finish', finishReason: 'tool_calls' },
];

describe('OpenAI Responses stream encoding', () => {
  test('emits the exact event sequence with contiguous sequence numbers and consistent item ids', () => {
    const { events, data } = encodeAll(toolParts);
    assertWellFormed(events, data);
    assert.deepEqual(
      data.map((d) => d.type),
      [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.reasoning_summary_part.added',
        'response.reasoning_summary_text.delta',
        'response.reasoning_summary_text.delta',
        'response.reasoning_summary_text.done',
        'response.reasoning_summary_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.output_item.added',
        'response.function_call_arguments.delta',
        'response.function_call_arguments.done',
        'response.output_item.done',
        'response.completed',
      ],
    );
    assert.deepEqual(data[0]!.response.status, 'in_progress');
    assert.deepEqual(data[0]!.response.output, []);
    assert.equal(data[0]!.response.usage, null);
    // Every item event names the item its output_item.added announced, at the same output index.
    const added = new Map<number, string>();
    for (const d of data) {
      if (d.type === 'response.output_item.added') added.set(d.output_index, d.item.id);
      else if ('item_id' in d) assert.equal(d.item_id, added.get(d.output_index), `${d.type} #${d.sequence_number}`);
      else if (d.type === 'response.output_item.done') assert.equal(d.item.id, added.get(d.output_index));
    }
    assert.deepEqual([...added.values()], ['rs_1', 'msg_2', 'fc_3', 'fc_4']);
    assert.deepEqual(data[11], {
      type: 'response.output_text.delta',
      item_id: 'msg_2',
      output_index: 1,
      content_index: 0,
      logprobs: [],
      delta: 'Checking ',
      sequence_number: 11,
    });
    assert.deepEqual(data[10]!.part, { type: 'output_text', text: '', annotations: [], logprobs: [] });
    assert.deepEqual(data[13], { type: 'response.output_text.done', sequence_number: 13, item_id: 'msg_2', output_index: 1, content_index: 0, text: 'Checking both.', logprobs: [] });
    assert.deepEqual(data[16]!.item, { id: 'fc_3', type: 'function_call', status: 'in_progress', call_id: 'call_a', name: 'get_weather', arguments: '' });
    assert.deepEqual(data[19], {
      type: 'response.function_call_arguments.done',
      sequence_number: 19,
      item_id: 'fc_3',
      output_index: 2,
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });
    const final = data.at(-1)!.response;
    const nonStreamed = toOpenAIResponsesResponse(
      canonical(
        [
          { type: 'reasoning', text: 'Need weather.' },
          { type: 'text', text: 'Checking both.' },
          { type: 'tool-call', id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'tool-call', id: 'call_b', name: 'get_weather', arguments: '{"city":"Rome"}' },
        ],
        'tool_calls',
      ),
      { id: 'resp_s', createdAt: 1_700_000_000, publicModel: 'gpt-smart', echo, newItemId: counterIds() },
    );
    assert.deepEqual(final, nonStreamed, 'the streamed and the non-streamed Response are the same object');
  });

  test('snapshot() is the live response with the output so far, then the terminal one; each call a copy', () => {
    const encoder = createOpenAIResponsesStreamEncoder({ ...OPTIONS, newItemId: counterIds() });
    assert.equal(encoder.snapshot().status, 'in_progress');
    encoder.encode({ type: 'start', id: 'up', model: 'u' });
    encoder.encode({ type: 'text-delta', text: 'Hel' });
    encoder.encode({ type: 'text-delta', text: 'lo' });
    const live = encoder.snapshot();
    assert.equal(live.status, 'in_progress');
    assert.equal(live.usage, null);
    assert.deepEqual(live.output, [
      { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }] },
    ]);
    encoder.encode({ type: 'text-delta', text: '!' });
    assert.equal(live.output[0]?.type === 'message' && live.output[0].content[0]?.text, 'Hello', 'an earlier snapshot does not change');
    encoder.encode({ type: 'finish', finishReason: 'stop', usage });
    const final = encoder.snapshot();
    assert.equal(final.status, 'completed');
    assert.equal(final.usage?.total_tokens, 70);
    final.output.length = 0;
    assert.equal(encoder.snapshot().output.length, 1);
    assert.equal(encoder.done, true);
    assert.equal(encoder.status, 'completed');
  });

  test('a background response starts queued, moves to in_progress at start, and can continue numbering', () => {
    const queued = createOpenAIResponsesStreamEncoder({ ...OPTIONS, initialStatus: 'queued', newItemId: counterIds() });
    const created = queued.begin();
    assert.deepEqual(queued.begin(), [], 'response.created is sent once');
    assert.equal(JSON.parse(created[0]!.data).response.status, 'queued');
    assert.equal(queued.snapshot().status, 'queued');
    assert.equal(queued.nextSequenceNumber, 1);

    // A worker picking the queued response up continues from sequence number 1 without re-announcing it.
    const worker = createOpenAIResponsesStreamEncoder({ ...OPTIONS, startingSequenceNumber: 1, alreadyCreated: true, newItemId: counterIds() });
    const events = [{ type: 'start', id: 'u', model: 'u' }, { type: 'text-delta', text: 'Hi' }, { type: 'finish', finishReason: 'stop' }].flatMap((p) =>
      worker.encode(p as StreamPart),
    );
    const data = events.map((e) => JSON.parse(e.data));
    assertWellFormed(events, data, 1);
    assert.equal(data[0].type, 'response.in_progress');
    assert.equal(data.at(-1).type, 'response.completed');
    assert.equal(worker.nextSequenceNumber, 1 + events.length);
  });

  test('an error mid-stream closes the open item incomplete, then error and response.failed; nothing follows', () => {
    const error = new BreakwaterError('upstream_timeout', 'upstream stalled', { reason: 'idle_timeout', provider: 'openai' });
    const encoder = createOpenAIResponsesStreamEncoder({ ...OPTIONS, newItemId: counterIds() });
    const parts: StreamPart[] = [{ type: 'start', id: 'u', model: 'u' }, { type: 'text-delta', text: 'par' }, { type: 'error', error, usage: { inputTokens: 5, outputTokens: 1 } }];
    const events = parts.flatMap((part) => encoder.encode(part));
    const data = events.map((e) => JSON.parse(e.data));
    assertWellFormed(events, data);
    assert.deepEqual(data.slice(-5).map((d) => d.type), [
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'error',
      'response.failed',
    ]);
    assert.equal(data.at(-3).item.status, 'incomplete');
    const errorBody = { message: 'upstream stalled', type: 'server_error', code: 'upstream_timeout', param: null, retryable: true, provider: 'openai', reason: 'idle_timeout' };
    assert.deepEqual(data.at(-2), { type: 'error', sequence_number: data.length - 2, code: 'upstream_timeout', message: 'upstream stalled', param: null, error: errorBody });
    const failed = data.at(-1).response;
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, errorBody);
    assert.equal(failed.usage.input_tokens, 5, 'usage up to the failure is kept');
    assert.equal(failed.output[0].content[0].text, 'par', 'partial output is kept');
    assert.deepEqual(encoder.encode({ type: 'finish', finishReason: 'stop' }), []);
    assert.deepEqual(encoder.cancel(), []);
    assert.equal(encoder.snapshot().status, 'failed');
  });

  test('an error before any output still announces the response, then fails it', () => {
    const { events, data } = encodeAll([{ type: 'error', error: new BreakwaterError('upstream_unavailable', 'all deployments down') }]);
    assertWellFormed(events, data);
    assert.deepEqual(data.map((d) => d.type), ['response.created', 'error', 'response.failed']);
  });

  test('length ends in response.incomplete with max_output_tokens; a finish reason of error fails', () => {
    const cut = encodeAll([{ type: 'start', id: 'u', model: 'u' }, { type: 'tool-call-start', index: 0, id: 'c', name: 'f' }, { type: 'tool-call-delta', index: 0, argumentsDelta: '{"a":' }, { type: 'finish', finishReason: 'length', usage }]);
    assertWellFormed(cut.events, cut.data);
    const last = cut.data.at(-1)!;
    assert.equal(last.type, 'response.incomplete');
    assert.equal(last.response.status, 'incomplete');
    assert.deepEqual(last.response.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(last.response.output[0].status, 'incomplete');
    assert.equal(cut.data.at(-2)!.item.status, 'incomplete');
    const failed = encodeAll([{ type: 'start', id: 'u', model: 'u' }, { type: 'finish', finishReason: 'error' }]);
    assert.deepEqual(failed.data.slice(-2).map((d) => d.type), ['error', 'response.failed']);
    assert.equal(failed.data.at(-1)!.response.error.code, 'upstream_error');
  });

  test('cancel() ends with status cancelled on a response.failed event and no error event', () => {
    const encoder = createOpenAIResponsesStreamEncoder({ ...OPTIONS, newItemId: counterIds() });
    const events = [...encoder.encode({ type: 'start', id: 'u', model: 'u' }), ...encoder.encode({ type: 'text-delta', text: 'Long story' }), ...encoder.cancel()];
    const data = events.map((e) => JSON.parse(e.data));
    assertWellFormed(events, data);
    assert.deepEqual(data.slice(-2).map((d) => d.type), ['response.output_item.done', 'response.failed']);
    assert.equal(data.at(-1).response.status, 'cancelled');
    assert.equal(data.at(-1).response.error, null);
    assert.equal(encoder.status, 'cancelled');
    assert.deepEqual(encoder.cancel(), [], 'cancel is idempotent');
    assert.deepEqual(encoder.encode({ type: 'text-delta', text: 'more' }), []);
    const queued = createOpenAIResponsesStreamEncoder({ ...OPTIONS, initialStatus: 'queued' });
    assert.deepEqual(queued.cancel().map((e) => e.event), ['response.created', 'response.failed']);
  });

  test('a late fragment of an earlier call is still emitted for its own item and lands in the final arguments', () => {
    const { events, data } = encodeAll([
      { type: 'start', id: 'u', model: 'u' },
      { type: 'tool-call-start', index: 0, id: 'a', name: 'f' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '{"x":' },
      { type: 'tool-call-start', index: 1, id: 'b', name: 'g' },
      { type: 'tool-call-delta', index: 0, argumentsDelta: '1}' },
      { type: 'tool-call-delta', index: 7, argumentsDelta: 'orphan' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    assertWellFormed(events, data);
    const late = data.filter((d) => d.type === 'response.function_call_arguments.delta').at(-1)!;
    assert.deepEqual([late.item_id, late.output_index, late.delta], ['fc_1', 0, '1}']);
    assert.equal(data.at(-1)!.response.output[0].arguments, '{"x":1}');
    assert.equal(data.some((d) => d.delta === 'orphan'), false, 'a fragment of an unknown call is dropped');
  });
});
