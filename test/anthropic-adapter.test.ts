import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { BreakwaterError } from '../src/core/errors.js';
import type { CallContext, ProviderAdapter } from '../src/core/provider.js';
import type { CanonicalRequest, StreamPart } from '../src/core/types.js';
import { createAnthropicAdapter } from '../src/providers/anthropic.js';

/** What the fake Anthropic answers next, and what it saw. */
interface Script {
  status: number;
  headers: Record<string, string>;
  body: string;
}

let server: Server;
let adapter: ProviderAdapter;
let script: Script;
const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];

const clock = new ManualClock(Date.UTC(2025, 0, 1));
const ctx: CallContext = {
  upstreamModel: 'claude-sonnet-4-5',
  signal: new AbortController().signal,
  clock,
  requestId: 'req_1',
  timeouts: { connectMs: 5000, headersMs: 5000, firstTokenMs: 5000, idleMs: 5000, totalMs: 60000 },
};

const request: CanonicalRequest = {
  model: 'claude-smart',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Capital of France?' }] }],
  stream: false,
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Script {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function sseBody(events: Array<[string, unknown]>): Script {
  const body = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join('');
  return { status: 200, headers: { 'content-type': 'text/event-stream', 'anthropic-ratelimit-requests-remaining': '49' }, body };
}

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

function messageStart(): [string, unknown] {
  return ['message_start', {
    type: 'message_start',
    message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } },
  }];
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(script.status, script.headers);
      res.end(script.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  adapter = createAnthropicAdapter({ id: 'anthropic', baseUrl, apiKey: 'sk-ant-test-key-123', maxConnections: 2, clock });
});

after(async () => {
  await adapter.close?.();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('Anthropic adapter', () => {
  test('generate posts /v1/messages with x-api-key and anthropic-version and reads rate limits', async () => {
    script = json(200, {
      id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Paris.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 3, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    }, { 'anthropic-ratelimit-tokens-remaining': '9000' });
    const response = await adapter.generate(request, ctx);
    const call = seen.at(-1)!;
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/v1/messages');
    assert.equal(call.headers['x-api-key'], 'sk-ant-test-key-123');
    assert.equal(call.headers['anthropic-version'], '2023-06-01');
    assert.equal(call.headers.authorization, undefined);
    assert.deepEqual(JSON.parse(call.body), {
      model: 'claude-sonnet-4-5', max_tokens: 4096, messages: [{ role: 'user', content: [{ type: 'text', text: 'Capital of France?' }] }],
    });
    assert.deepEqual(response.content, [{ type: 'text', text: 'Paris.' }]);
    assert.equal(response.finishReason, 'stop');
    assert.equal(response.rateLimit?.remainingTokens, 9000);
  });

  test('a json_schema request is forced through a tool and comes back as JSON text', async () => {
    script = json(200, {
      id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
      content: [{ type: 'tool_use', id: 'toolu_1', name: 'json_output', input: { city: 'Paris' } }],
      stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 30, output_tokens: 9 },
    });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const response = await adapter.generate({ ...request, responseFormat: { type: 'json_schema', name: 'city', schema } }, ctx);
    assert.deepEqual(JSON.parse(seen.at(-1)!.body).tool_choice, { type: 'tool', name: 'json_output' });
    assert.deepEqual(response.content, [{ type: 'text', text: '{"city":"Paris"}' }]);
    assert.equal(response.finishReason, 'stop');
  });

  test('stream decodes SSE into canonical parts with rate limits on start', async () => {
    script = sseBody([
      messageStart(),
      ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
      ['ping', { type: 'ping' }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Par' } }],
      ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'is.' } }],
      ['content_block_stop', { type: 'content_block_stop', index: 0 }],
      ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 4 } }],
      ['message_stop', { type: 'message_stop' }],
    ]);
    const parts = await collect(adapter.stream({ ...request, stream: true }, ctx));
    assert.equal(JSON.parse(seen.at(-1)!.body).stream, true);
    assert.deepEqual(parts[0], { type: 'start', id: 'msg_1', model: 'claude-sonnet-4-5', rateLimit: { remainingRequests: 49 } });
    assert.equal(parts.flatMap((p) => (p.type === 'text-delta' ? [p.text] : [])).join(''), 'Paris.');
    assert.deepEqual(parts.at(-1), {
      type: 'finish', finishReason: 'stop', rawFinishReason: 'end_turn',
      usage: { inputTokens: 12, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
  });

  test('an in-stream overloaded_error throws a retryable error naming the provider', async () => {
    script = sseBody([messageStart(), ['error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }]]);
    await assert.rejects(collect(adapter.stream({ ...request, stream: true }, ctx)), (e: unknown) => {
      assert.ok(e instanceof BreakwaterError);
      assert.equal(e.code, 'upstream_unavailable');
      assert.equal(e.retryable, true);
      assert.equal(e.details.provider, 'anthropic');
      return true;
    });
  });

  test('HTTP errors are classified: context length, content policy, 529 overloaded', async () => {
    const cases: Array<[Script, string, boolean]> = [
      [json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 215000 tokens > 200000 maximum' } }), 'context_length_exceeded', false],
      [json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'Output blocked by content filtering policy' } }), 'content_policy_violation', false],
      [json(400, { type: 'error', error: { type: 'invalid_request_error', message: 'messages.0: bad' } }), 'invalid_request', false],
      [json(529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), 'upstream_unavailable', true],
    ];
    for (const [answer, code, retryable] of cases) {
      script = answer;
      await assert.rejects(adapter.generate(request, ctx), (e: unknown) => {
        assert.ok(e instanceof BreakwaterError);
        assert.equal(e.code, code);
        assert.equal(e.retryable, retryable);
        assert.equal(e.message, JSON.parse(answer.body).error.message);
        assert.equal(e.details.provider, 'anthropic');
        assert.ok(!e.message.includes('sk-ant-test-key-123'));
        return true;
      });
    }
  });

  test('listModels reads data[].id from GET /v1/models', async () => {
    script = json(200, { data: [{ type: 'model', id: 'claude-sonnet-4-5' }, { type: 'model', id: 'claude-haiku-4-5' }], has_more: false });
    assert.deepEqual(await adapter.listModels!({ signal: new AbortController().signal }), ['claude-sonnet-4-5', 'claude-haiku-4-5']);
    assert.equal(seen.at(-1)!.method, 'GET');
    assert.match(seen.at(-1)!.url, /^\/v1\/models/);
  });

  test('has no embeddings', () => {
    assert.equal(adapter.embed, undefined);
  });
});
