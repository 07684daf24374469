import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import OpenAI, { APIError, BadRequestError } from 'openai';
import { BreakwaterError, toBreakwaterError } from '../src/core/errors.js';
import type { CanonicalResponse, StreamPart } from '../src/core/types.js';
import { toOpenAIErrorObject } from '../src/protocols/error-body.js';
import {
  createOpenAIResponsesStreamEncoder,
  parseOpenAIResponsesRequest,
  toOpenAIResponsesResponse,
  type ParsedResponsesRequest,
} from '../src/protocols/openai-responses.js';
import { formatSseEvent, type SseEvent } from '../src/protocols/sse.js';

// A stand-in for the gateway: our parser reads the SDK's body, canned canonical parts go out
// through our encoder (or toOpenAIResponsesResponse), and the official SDK must rebuild them.

const WORDS = Array.from({ length: 30 }, (_, i) => `word${i} `);
const FULL_TEXT = WORDS.join('');
const USAGE = { inputTokens: 12, outputTokens: 30, cacheReadTokens: 8, reasoningTokens: 0 };
const CREATED_AT = 1_700_000_000;

interface Scenario {
  parts: StreamPart[];
  /** The same answer, complete, for non-streamed requests. */
  response: CanonicalResponse;
}

function scenario(input: string): Scenario {
  const start: StreamPart = { type: 'start', id: 'up', model: 'upstream' };
  if (input === 'call a tool') {
    return {
      parts: [
        start,
        { type: 'tool-call-start', index: 0, id: 'call_w', name: 'get_weather' },
        { type: 'tool-call-delta', index: 0, argumentsDelta: '{"city":' },
        { type: 'tool-call-delta', index: 0, argumentsDelta: '"Paris"}' },
        { type: 'finish', finishReason: 'tool_calls', usage: USAGE },
      ],
      response: {
        id: 'up',
        model: 'upstream',
        content: [{ type: 'tool-call', id: 'call_w', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        finishReason: 'tool_calls',
        usage: USAGE,
      },
    };
  }
  const error = new BreakwaterError('upstream_timeout', 'upstream stalled mid-answer', { provider: 'sim', reason: 'idle_timeout' });
  if (input === 'fail midway') {
    return {
      parts: [start, ...WORDS.slice(0, 3).map((text): StreamPart => ({ type: 'text-delta', text })), { type: 'error', error }],
      response: { id: 'up', model: 'upstream', content: [], finishReason: 'error', usage: USAGE },
    };
  }
  return {
    parts: [start, ...WORDS.map((text): StreamPart => ({ type: 'text-delta', text })), { type: 'usage', usage: USAGE }, { type: 'finish', finishReason: 'stop' }],
    response: { id: 'up', model: 'upstream', content: [{ type: 'text', text: FULL_TEXT }], finishReason: 'stop', usage: USAGE },
  };
}

function lastUserText(parsed: ParsedResponsesRequest): string {
  const part = parsed.request.messages.at(-1)?.content[0];
  return part?.type === 'text' ? part.text : '';
}

/** Every stream served, by response id, as the event log a resumed stream reads from. */
const eventLogs = new Map<string, SseEvent[]>();
let served = 0;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendEvents(res: ServerResponse, events: SseEvent[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const event of events) res.write(formatSseEvent(event));
  res.end();
}

function create(body: string, res: ServerResponse): void {
  let parsed: ParsedResponsesRequest;
  try {
    parsed = parseOpenAIResponsesRequest(JSON.parse(body));
  } catch (error) {
    const failure = toBreakwaterError(error);
    sendJson(res, failure.status, { error: toOpenAIErrorObject(failure) });
    return;
  }
  const id = `resp_${++served}`;
  const { parts, response } = scenario(lastUserText(parsed));
  const base = { id, createdAt: CREATED_AT, publicModel: parsed.request.model, echo: parsed.echo };
  if (!parsed.request.stream) {
    sendJson(res, 200, toOpenAIResponsesResponse(response, base));
    return;
  }
  const encoder = createOpenAIResponsesStreamEncoder(base);
  const events = [...encoder.begin(), ...parts.flatMap((part) => encoder.encode(part))];
  eventLogs.set(id, events);
  sendEvents(res, events);
}

/** `GET /v1/responses/{id}?stream=true&starting_after=N`: `response.created` again, then the events after N. */
function resume(url: URL, res: ServerResponse): void {
  const events = eventLogs.get(url.pathname.split('/').at(-1)!) ?? [];
  const after = Number(url.searchParams.get('starting_after') ?? -1);
  const tail = events.filter((event) => JSON.parse(event.data).sequence_number > after && event !== events[0]);
  sendEvents(res, tail[0] === events[0] ? tail : [events[0]!, ...tail]);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/v1/responses') create(body, res);
    else if (req.method === 'GET' && url.pathname.startsWith('/v1/responses/')) resume(url, res);
    else sendJson(res, 404, { error: { message: 'not found' } });
  });
}

describe('the Responses codec read by the official OpenAI SDK', () => {
  let server: Server;
  let client: OpenAI;
  before(async () => {
    server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OpenAI({ apiKey: 'bw_test', baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, maxRetries: 0 });
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('a non-streamed create returns the Response with output_text, usage and the echoed request', async () => {
    const response = await client.responses.create({ model: 'gpt-smart', input: 'hello', metadata: { ticket: 'T-9' }, temperature: 0.3 });
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'gpt-smart');
    assert.equal(response.output_text, FULL_TEXT);
    assert.deepEqual(response.metadata, { ticket: 'T-9' });
    assert.equal(response.temperature, 0.3);
    assert.equal(response.usage?.input_tokens_details.cached_tokens, 8);
    assert.equal(response.usage?.total_tokens, 42);
  });

  test('stream: true yields every event in order and the deltas rebuild the full text', async () => {
    const stream = await client.responses.create({ model: 'gpt-smart', input: 'hello', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, i) => i),
    );
    assert.equal(events[0]?.type, 'response.created');
    const text = events.map((event) => (event.type === 'response.output_text.delta' ? event.delta : '')).join('');
    assert.equal(text, FULL_TEXT);
    const last = events.at(-1);
    assert.equal(last?.type, 'response.completed');
    assert.equal(last?.type === 'response.completed' && last.response.usage?.output_tokens, 30);
  });

  test('responses.stream() accumulates a function call and usage into finalResponse()', async () => {
    const stream = client.responses.stream({
      model: 'gpt-smart',
      input: 'call a tool',
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }],
    });
    const deltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => deltas.push(event.snapshot));
    const final = await stream.finalResponse();
    assert.deepEqual(deltas, ['{"city":', '{"city":"Paris"}']);
    assert.equal(final.status, 'completed');
    const call = final.output[0];
    assert.equal(call?.type, 'function_call');
    assert.deepEqual(call?.type === 'function_call' && [call.call_id, call.name, call.arguments, call.status], ['call_w', 'get_weather', '{"city":"Paris"}', 'completed']);
    assert.equal(final.usage?.output_tokens, 30);
    assert.equal(final.tools[0]?.type === 'function' && final.tools[0].name, 'get_weather');
  });

  test('an error mid-stream raises an APIError with our code in both iteration and finalResponse()', async () => {
    const stream = await client.responses.create({ model: 'gpt-smart', input: 'fail midway', stream: true });
    const seen: string[] = [];
    const raised = await (async () => {
      try {
        for await (const event of stream) seen.push(event.type);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    assert.ok(raised instanceof APIError, `expected an APIError, got ${String(raised)}`);
    assert.equal(raised.code, 'upstream_timeout');
    assert.match(raised.message, /upstream stalled mid-answer/);
    assert.equal(seen.filter((type) => type === 'response.output_text.delta').length, 3, 'the partial answer arrived first');
    await assert.rejects(client.responses.stream({ model: 'gpt-smart', input: 'fail midway' }).finalResponse(), (error: unknown) => {
      return error instanceof APIError && error.code === 'upstream_timeout';
    });
  });

  test('a stream cut after event 20 resumes with response.created, then the events after 20', async () => {
    const first = await client.responses.create({ model: 'gpt-smart', input: 'hello', stream: true });
    let id = '';
    let lastSeen = -1;
    for await (const event of first) {
      if (event.type === 'response.created') id = event.response.id;
      lastSeen = event.sequence_number;
      if (lastSeen === 20) break;
    }
    const resumed = await client.responses.retrieve(id, { stream: true, starting_after: lastSeen });
    const events = [];
    for await (const event of resumed) events.push(event);
    assert.equal(events[0]?.type, 'response.created');
    assert.deepEqual(
      events.slice(1).map((event) => event.sequence_number),
      events.slice(1).map((_, i) => 21 + i),
    );
    // The SDK's helper re-reads the stream and keeps only events after the cursor, but needs response.created to rebuild.
    const helper = client.responses.stream({ response_id: id, starting_after: lastSeen });
    const emitted: number[] = [];
    helper.on('event', (event) => emitted.push(event.sequence_number));
    const final = await helper.finalResponse();
    assert.equal(final.output_text, FULL_TEXT);
    assert.equal(final.id, id);
    assert.equal(Math.min(...emitted), 21);
  });

  test('a body the parser rejects is a BadRequestError naming the param', async () => {
    await assert.rejects(
      client.responses.create({ model: 'gpt-smart', input: 'hi', tools: [{ type: 'web_search' }] }),
      (error: unknown) => error instanceof BadRequestError && error.param === 'tools[0].type' && error.code === 'invalid_request',
    );
  });
});
