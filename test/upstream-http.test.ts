import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { BreakwaterError } from '../src/core/errors.js';
import type { AttemptTimeouts, CallContext } from '../src/core/provider.js';
import type { CanonicalRequest, StreamPart } from '../src/core/types.js';
import type { SseEvent } from '../src/protocols/sse.js';
import { classifyOpenAICompatibleError, createOpenAICompatibleAdapter } from '../src/providers/openai-compatible.js';
import { UpstreamHttp } from '../src/providers/upstream-http.js';

/** One request as the scripted server saw it. */
interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  body: string;
  /** Resolves when the client's socket closes. */
  socketClosed: Promise<void>;
  closed(): boolean;
}

/** A real node:http server on 127.0.0.1:0 whose behaviour each test scripts. */
class ScriptedServer {
  readonly exchanges: Exchange[] = [];
  private arrivals: Array<(exchange: Exchange) => void> = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(handle: (exchange: Exchange) => void): Promise<ScriptedServer> {
    let scripted: ScriptedServer | undefined;
    const server = createServer((req, res) => {
      let body = '';
      let closed = false;
      const socketClosed = new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
      void socketClosed.then(() => (closed = true));
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const exchange: Exchange = { req, res, body, socketClosed, closed: () => closed };
        scripted!.exchanges.push(exchange);
        scripted!.arrivals.shift()?.(exchange);
        handle(exchange);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    scripted = new ScriptedServer(server, (server.address() as AddressInfo).port);
    servers.push(scripted);
    return scripted;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** The next request to arrive. */
  nextExchange(): Promise<Exchange> {
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const servers: ScriptedServer[] = [];
const clients: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

const timeouts: AttemptTimeouts = { connectMs: 1000, headersMs: 1000, firstTokenMs: 2000, idleMs: 500, totalMs: 60_000 };

function context(clock = new ManualClock(), signal = new AbortController().signal, headers?: Record<string, string>): CallContext {
  return { upstreamModel: 'up-model', signal, clock, requestId: 'req_test', timeouts, headers };
}

function client(server: ScriptedServer, options: Partial<ConstructorParameters<typeof UpstreamHttp>[0]> = {}): UpstreamHttp {
  const http = new UpstreamHttp({ baseUrl: server.baseUrl, maxConnections: 4, provider: 'local', ...options });
  clients.push(http);
  return http;
}

function sse(value: unknown): string {
  return `data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`;
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
}

async function rejection(promise: Promise<unknown>): Promise<BreakwaterError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BreakwaterError, `expected a BreakwaterError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

/** Lets real I/O callbacks run (no timers involved). */
async function ioTurns(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled(): boolean } {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { promise, settled: () => settled };
}

describe('UpstreamHttp errors', () => {
  test('classifies a 429 with Retry-After and keeps the provider message', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }));
    });
    const error = await rejection(client(server).postJson('/chat/completions', { a: 1 }, context()));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.equal(error.message, 'Rate limit reached for requests');
    assert.deepEqual(error.details, { provider: 'local', retryAfterMs: 7000, upstreamStatus: 429 });
  });

  test('reads the Anthropic error shape and plain-text bodies', async () => {
    let turn = 0;
    const server = await ScriptedServer.start(({ res }) => {
      turn++;
      if (turn === 1) {
        res.writeHead(529, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
      } else {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('  Bad Gateway  ');
      }
    });
    const http = client(server);
    const overloaded = await rejection(http.postJson('/messages', {}, context()));
    assert.equal(overloaded.code, 'upstream_unavailable');
    assert.equal(overloaded.message, 'Overloaded');
    const gateway = await rejection(http.postJson('/messages', {}, context()));
    assert.equal(gateway.code, 'upstream_error');
    assert.equal(gateway.message, 'Bad Gateway');
  });

  test('a 400 context-length error is context_length_exceeded and not retryable', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } }));
    });
    const classified = await rejection(client(server, { classifyError: classifyOpenAICompatibleError }).postJson('/chat/completions', {}, context()));
    assert.equal(classified.code, 'context_length_exceeded');
    assert.equal(classified.status, 400);
    assert.equal(classified.retryable, false);
    assert.match(classified.message, /maximum context length is 8192/);
    assert.equal(classified.details.upstreamStatus, 400);
    assert.equal(classified.details.provider, 'local');
    const plain = await rejection(client(server).postJson('/chat/completions', {}, context()));
    assert.equal(plain.code, 'invalid_request', 'without a classifier the status decides');
  });

  test('a connection reset before headers is a retryable connection_reset', async () => {
    const server = await ScriptedServer.start(({ req }) => req.socket.destroy());
    const error = await rejection(client(server).postJson('/chat/completions', {}, context()));
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.details.reason, 'connection_reset');
    assert.equal(error.retryable, true);
  });

  test('a refused connection is connection_refused and names neither host nor port', async () => {
    const server = await ScriptedServer.start(() => {});
    const { port, baseUrl } = server;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const http = new UpstreamHttp({ baseUrl, maxConnections: 1, provider: 'local' });
    clients.push(http);
    const error = await rejection(http.postJson('/chat/completions', {}, context()));
    assert.equal(error.details.reason, 'connection_refused');
    assert.equal(error.retryable, true);
    assert.ok(!error.message.includes('127.0.0.1') && !error.message.includes(String(port)), error.message);
  });

  test('never follows a redirect', async () => {
    const elsewhere = await ScriptedServer.start(({ res }) => res.end('{}'));
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(307, { location: `${elsewhere.baseUrl}/chat/completions` });
      res.end();
    });
    const error = await rejection(client(server).postJson('/chat/completions', {}, context()));
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.details.reason, 'redirect');
    assert.equal(error.details.upstreamStatus, 307);
    assert.equal(elsewhere.exchanges.length, 0);
  });

  test('error messages carry neither the upstream URL nor the API key', async () => {
    const key = 'sk-live-0123456789abcdef';
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}. Retry at ${server.baseUrl}/chat/completions or 127.0.0.1:${server.port}.` } }));
    });
    const error = await rejection(client(server, { headers: { Authorization: `Bearer ${key}` } }).postJson('/chat/completions', {}, context()));
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.retryable, false);
    assert.ok(!error.message.includes(key) && !error.message.includes('0123456789abcdef'), error.message);
    assert.ok(!error.message.includes(`127.0.0.1:${server.port}`), error.message);
    assert.match(error.message, /^Incorrect API key provided/);
  });

  test('forwards ctx.headers but never lets them replace credentials', async () => {
    const server = await ScriptedServer.start(({ res }) => res.end('{"ok":true}'));
    const http = client(server, { headers: { Authorization: 'Bearer sk-configured-key' } });
    const ctx = context(undefined, undefined, { traceparent: '00-abc-def-01', authorization: 'Bearer stolen', 'x-sim-fault': 'none' });
    const { body } = await http.postJson('/chat/completions', { q: 1 }, ctx);
    assert.deepEqual(body, { ok: true });
    const { req, body: sent } = server.exchanges[0];
    assert.equal(req.url, '/v1/chat/completions');
    assert.equal(req.headers.authorization, 'Bearer sk-configured-key');
    assert.equal(req.headers.traceparent, '00-abc-def-01');
    assert.equal(req.headers['x-sim-fault'], 'none');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(sent), { q: 1 });
  });
});

describe('UpstreamHttp timeouts and aborts', () => {
  test('headers then silence: first_token_timeout at the limit, not before, and the socket closes', async () => {
    const server = await ScriptedServer.start(({ res }) => startStream(res));
    const clock = new ManualClock();
    const { events } = await client(server).postSse('/chat/completions', {}, context(clock));
    const next = tracked(events[Symbol.asyncIterator]().next());
    await clock.advance(timeouts.firstTokenMs - 1);
    await ioTurns();
    assert.equal(next.settled(), false, 'nothing happens at t − 1');
    assert.equal(server.exchanges[0].closed(), false);
    await clock.advance(1);
    const error = await rejection(next.promise);
    assert.equal(error.code, 'upstream_timeout');
    assert.equal(error.details.reason, 'first_token_timeout');
    assert.equal(error.retryable, true);
    await server.exchanges[0].socketClosed;
  });

  test('no headers: headers_timeout closes the socket', async () => {
    const server = await ScriptedServer.start(() => {});
    const clock = new ManualClock();
    const call = tracked(client(server).postSse('/chat/completions', {}, context(clock)));
    await server.nextExchange().then(() => undefined, () => undefined);
    await clock.advance(timeouts.headersMs - 1);
    await ioTurns();
    assert.equal(call.settled(), false);
    await clock.advance(1);
    const error = await rejection(call.promise);
    assert.equal(error.details.reason, 'headers_timeout');
    await server.exchanges[0].socketClosed;
  });

  test('a gap between chunks longer than idleMs is idle_timeout; a steady stream 5× longer survives', async () => {
    let response: ServerResponse | undefined;
    const server = await ScriptedServer.start(({ res }) => {
      startStream(res);
      response = res;
    });
    const clock = new ManualClock();
    const { events } = await client(server).postSse('/chat/completions', {}, context(clock));
    const iterator = events[Symbol.asyncIterator]();
    // Like the relay, always have a read waiting: only waits for upstream bytes count as idle.
    let next = tracked(iterator.next());
    for (let i = 0; i < 10; i++) {
      response!.write(sse({ n: i }));
      assert.deepEqual(await next.promise, { value: { data: `{"n":${i}}`, event: undefined, id: undefined }, done: false });
      next = tracked(iterator.next());
      await clock.advance(timeouts.idleMs - 1);
    }
    assert.equal(clock.now(), 10 * (timeouts.idleMs - 1), 'ten near-limit gaps, 5× idleMs in all');
    await ioTurns();
    assert.equal(next.settled(), false);
    await clock.advance(1);
    const error = await rejection(next.promise);
    assert.equal(error.details.reason, 'idle_timeout');
    await server.exchanges[0].socketClosed;
  });

  test('a consumer that pauses longer than idleMs is not an idle upstream', async () => {
    let response: ServerResponse | undefined;
    const server = await ScriptedServer.start(({ res }) => {
      startStream(res);
      response = res;
    });
    const clock = new ManualClock();
    const { events } = await client(server).postSse('/chat/completions', {}, context(clock));
    const iterator = events[Symbol.asyncIterator]();
    response!.write(sse({ n: 1 }));
    await iterator.next();
    response!.write(sse({ n: 2 }));
    await ioTurns();
    await clock.advance(3 * timeouts.idleMs);
    assert.equal((await iterator.next()).value?.data, '{"n":2}');
    assert.equal(server.exchanges[0].closed(), false);
    response!.end();
    assert.equal((await iterator.next()).done, true);
  });

  test('aborting ctx.signal mid-stream throws its BreakwaterError reason and closes the socket', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      startStream(res);
      res.write(sse({ n: 1 }));
    });
    const controller = new AbortController();
    const { events } = await client(server).postSse('/chat/completions', {}, context(new ManualClock(), controller.signal));
    const iterator = events[Symbol.asyncIterator]();
    await iterator.next();
    const next = iterator.next();
    const reason = new BreakwaterError('upstream_timeout', 'request deadline passed', { reason: 'deadline' });
    controller.abort(reason);
    assert.equal(await rejection(next), reason);
    await server.exchanges[0].socketClosed;
  });

  test('a plain abort before headers is upstream_error aborted and closes the socket', async () => {
    const server = await ScriptedServer.start(() => {});
    const controller = new AbortController();
    const call = client(server).postSse('/chat/completions', {}, context(new ManualClock(), controller.signal));
    await server.nextExchange();
    controller.abort();
    const error = await rejection(call);
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.details.reason, 'aborted');
    await server.exchanges[0].socketClosed;
  });

  test('leaving the event loop early closes the upstream socket', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      startStream(res);
      res.write(sse({ n: 1 }));
    });
    const { events } = await client(server).postSse('/chat/completions', {}, context());
    for await (const _event of events) break;
    await server.exchanges[0].socketClosed;
  });
});

describe('UpstreamHttp non-streamed answers', () => {
  test('an answer over maxResponseBytes is response_too_large and the socket closes', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`{"text":"${'x'.repeat(600)}`);
      // The rest never comes: the client must stop reading at the limit, not wait for the end.
    });
    const error = await rejection(client(server, { maxResponseBytes: 512 }).postJson('/chat/completions', {}, context()));
    assert.equal(error.code, 'upstream_error');
    assert.equal(error.details.reason, 'response_too_large');
    assert.match(error.message, /more than 512 bytes/);
    await server.exchanges[0].socketClosed;
  });

  test('an answer of exactly maxResponseBytes is read, split across writes', async () => {
    const body = JSON.stringify({ text: 'y'.repeat(500) });
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining-requests': '41' });
      res.write(body.slice(0, 100));
      setImmediate(() => res.end(body.slice(100)));
    });
    const answer = await client(server, { maxResponseBytes: Buffer.byteLength(body) }).postJson('/chat/completions', {}, context());
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { text: 'y'.repeat(500) });
    assert.equal(answer.headers['x-ratelimit-remaining-requests'], '41');
  });

  test('malformed JSON is malformed_response; an empty 200 body is no body', async () => {
    let turn = 0;
    const server = await ScriptedServer.start(({ res }) => {
      turn++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(turn === 1 ? '{"choices": [' : '  ');
    });
    const http = client(server);
    const error = await rejection(http.postJson('/chat/completions', {}, context()));
    assert.equal(error.details.reason, 'malformed_response');
    const empty = await http.postJson('/chat/completions', {}, context());
    assert.equal(empty.body, undefined);
  });

  test('an error body over 64 KiB still yields the classified error from its first 64 KiB', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(`overloaded ${'z'.repeat(70 * 1024)}`);
    });
    const error = await rejection(client(server).postJson('/chat/completions', {}, context()));
    assert.equal(error.code, 'upstream_unavailable');
    assert.equal(error.details.upstreamStatus, 503);
    assert.match(error.message, /^overloaded z/);
  });

  test('a body that stalls after the headers is idle_timeout at idleMs, not before', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    const clock = new ManualClock();
    const call = tracked(client(server).postJson('/chat/completions', {}, context(clock)));
    await server.nextExchange().then(() => undefined, () => undefined);
    await ioTurns(10);
    await clock.advance(timeouts.idleMs - 1);
    await ioTurns();
    assert.equal(call.settled(), false, 'nothing happens at t − 1');
    await clock.advance(1);
    const error = await rejection(call.promise);
    assert.equal(error.details.reason, 'idle_timeout');
    await server.exchanges[0].socketClosed;
  });

  test('the client leaving mid-answer rejects at once with its reason and closes the socket', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    });
    const controller = new AbortController();
    const call = tracked(client(server).postJson('/chat/completions', {}, context(new ManualClock(), controller.signal)));
    await server.nextExchange().then(() => undefined, () => undefined);
    await ioTurns(10);
    assert.equal(call.settled(), false);
    const reason = new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false });
    controller.abort(reason);
    assert.equal(await rejection(call.promise), reason);
    await server.exchanges[0].socketClosed;
  });
});

describe('UpstreamHttp streaming', () => {
  test('yields each SSE event as it arrives, across split chunks and split UTF-8', async () => {
    let response: ServerResponse | undefined;
    const server = await ScriptedServer.start(({ res }) => {
      startStream(res);
      response = res;
    });
    const { events } = await client(server).postSse('/chat/completions', {}, context());
    const iterator = events[Symbol.asyncIterator]();
    response!.write(sse({ text: 'first' }));
    assert.deepEqual((await iterator.next()).value, { data: '{"text":"first"}', event: undefined, id: undefined });
    const bytes = Buffer.from(sse({ text: 'é€' }));
    const cut = bytes.indexOf(Buffer.from('€')) + 1;
    response!.write(bytes.subarray(0, cut));
    const pending = tracked(iterator.next());
    await ioTurns();
    assert.equal(pending.settled(), false, 'half an event is not an event');
    response!.write(bytes.subarray(cut));
    assert.equal(((await pending.promise).value as SseEvent).data, '{"text":"é€"}');
    response!.end('event: done\ndata: [DONE]');
    assert.deepEqual((await iterator.next()).value, { data: '[DONE]', event: 'done', id: undefined });
    assert.equal((await iterator.next()).done, true);
  });

  test('a non-2xx stream answer throws before any event', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after-ms': '1500' });
      res.end(JSON.stringify({ error: { message: 'warming up' } }));
    });
    const error = await rejection(client(server).postSse('/chat/completions', {}, context()));
    assert.equal(error.code, 'upstream_unavailable');
    assert.equal(error.details.retryAfterMs, 1500);
  });
});

describe('OpenAI-compatible adapter over a local server', () => {
  const request: CanonicalRequest = { model: 'alias', stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello to the world' }] }] };

  async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
    const parts: StreamPart[] = [];
    for await (const part of stream) parts.push(part);
    return parts;
  }

  test('a stream without usage gets an estimated usage before finish, and rate limits on start', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-ratelimit-remaining-requests': '9' });
      res.write(sse({ id: 'c1', model: 'llama3', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello, ' } }] }));
      res.write(sse({ id: 'c1', model: 'llama3', choices: [{ index: 0, delta: { content: 'world!' }, finish_reason: 'stop' }] }));
      res.end(sse('[DONE]'));
    });
    const adapter = createOpenAICompatibleAdapter({ id: 'ollama-local', baseUrl: server.baseUrl, flavor: 'ollama', maxConnections: 2, apiKey: 'k-123456789' });
    clients.push({ close: () => adapter.close!() });
    const parts = await collect(adapter.stream(request, context()));
    const sent = JSON.parse(server.exchanges[0].body);
    assert.equal(sent.model, 'up-model');
    assert.deepEqual(sent.stream_options, { include_usage: true });
    assert.equal(server.exchanges[0].req.headers.authorization, 'Bearer k-123456789');
    assert.deepEqual(parts[0], { type: 'start', id: 'c1', model: 'llama3', rateLimit: { remainingRequests: 9 } });
    const estimated = { inputTokens: 6, outputTokens: 4, estimated: true };
    assert.deepEqual(parts.slice(-2), [
      { type: 'usage', usage: estimated },
      { type: 'finish', finishReason: 'stop', rawFinishReason: 'stop', usage: estimated },
    ]);
  });

  test('generate reads the answer, embed and listModels use their endpoints', async () => {
    const server = await ScriptedServer.start(({ req, res }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v1/models') res.end(JSON.stringify({ object: 'list', data: [{ id: 'qwen3' }, { id: 'llama3' }] }));
      else if (req.url === '/v1/embeddings') res.end(JSON.stringify({ data: [{ index: 0, embedding: [0.5, 0.25] }], model: 'e', usage: { prompt_tokens: 3 } }));
      else res.end(JSON.stringify({ id: 'c2', model: 'qwen3', choices: [{ message: { content: 'hi', reasoning_content: 'greet' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 2 } }));
    });
    const adapter = createOpenAICompatibleAdapter({ id: 'vllm', baseUrl: server.baseUrl, flavor: 'vllm', maxConnections: 2 });
    clients.push({ close: () => adapter.close!() });
    const answer = await adapter.generate({ ...request, stream: false }, context());
    assert.deepEqual(answer.content, [{ type: 'reasoning', text: 'greet' }, { type: 'text', text: 'hi' }]);
    assert.deepEqual(answer.usage, { inputTokens: 9, outputTokens: 2 });
    assert.equal(JSON.parse(server.exchanges[0].body).stream, false);
    const embedding = await adapter.embed!({ model: 'e', input: ['abc'] }, context());
    assert.deepEqual(embedding.embeddings, [[0.5, 0.25]]);
    assert.deepEqual(await adapter.listModels!({ signal: new AbortController().signal }), ['qwen3', 'llama3']);
  });

  test('mid-stream failures name the provider: an in-stream error is classified, EOF without finish is truncated', async () => {
    let turn = 0;
    const server = await ScriptedServer.start(({ res }) => {
      turn++;
      startStream(res);
      res.write(sse({ id: 'c3', choices: [{ index: 0, delta: { content: 'par' } }] }));
      res.end(turn === 1 ? sse({ error: { message: "This model's maximum context length is 4096 tokens." } }) : undefined);
    });
    const adapter = createOpenAICompatibleAdapter({ id: 'vllm-a', baseUrl: server.baseUrl, flavor: 'vllm', maxConnections: 1 });
    clients.push({ close: () => adapter.close!() });
    const inStream = await rejection(collect(adapter.stream(request, context())));
    assert.equal(inStream.code, 'context_length_exceeded');
    assert.equal(inStream.details.provider, 'vllm-a');
    const truncated = await rejection(collect(adapter.stream(request, context())));
    assert.equal(truncated.details.reason, 'stream_truncated');
    assert.equal(truncated.details.provider, 'vllm-a');
  });

  test('a 400 content-policy answer becomes content_policy_violation with the provider message', async () => {
    const server = await ScriptedServer.start(({ res }) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The response was filtered due to the prompt triggering content management policy.', code: 'content_filter' } }));
    });
    const adapter = createOpenAICompatibleAdapter({ id: 'azure', baseUrl: server.baseUrl, maxConnections: 1 });
    clients.push({ close: () => adapter.close!() });
    const error = await rejection(adapter.generate({ ...request, stream: false }, context()));
    assert.equal(error.code, 'content_policy_violation');
    assert.equal(error.retryable, false);
    assert.match(error.message, /content management policy/);
    assert.equal(error.details.provider, 'azure');
  });
});
