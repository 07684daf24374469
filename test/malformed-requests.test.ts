import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** One malformed request and what the gateway must answer. */
interface Case {
  name: string;
  method?: string;
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Omit the key (or send `auth` instead of the valid one). */
  auth?: string | null;
  status: number;
  code: string;
  /** The error param, when one field is at fault. */
  param?: string;
}

const CANARY_PROMPT = 'CANARY-PROMPT-5f2a';
const CANARY_KEY = 'bw_CANARYSECRETKEY000000000000000000000000000';

const chat = '/v1/chat/completions';
const messages = '/v1/messages';

function openAIBody(patch: Record<string, unknown>): string {
  return JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: CANARY_PROMPT }], ...patch });
}

function anthropicBody(patch: Record<string, unknown>): string {
  return JSON.stringify({ model: 'sim-fast', max_tokens: 16, messages: [{ role: 'user', content: CANARY_PROMPT }], ...patch });
}

function buildCases(): Case[] {
  const cases: Case[] = [];
  const badKeys = ['', 'Bearer', 'Bearer ', 'Basic abc', `Bearer ${CANARY_KEY}`, 'Bearer bw_', 'Bearer sk-proj-123', 'Bearer bwa_x', 'Bearer ' + 'x'.repeat(5000), 'bearer bw_short'];
  for (const path of [chat, messages, '/v1/embeddings', '/v1/models']) {
    const method = path === '/v1/models' ? 'GET' : 'POST';
    cases.push({ name: `no key ${path}`, method, path, body: method === 'POST' ? openAIBody({}) : undefined, auth: null, status: 401, code: 'invalid_api_key' });
    for (const auth of badKeys) cases.push({ name: `bad key ${JSON.stringify(auth.slice(0, 20))} ${path}`, method, path, body: method === 'POST' ? openAIBody({}) : undefined, auth, status: 401, code: 'invalid_api_key' });
  }
  cases.push({ name: 'x-api-key wrong', path: messages, body: anthropicBody({}), auth: null, headers: { 'x-api-key': CANARY_KEY }, status: 401, code: 'invalid_api_key' });

  const badJson = ['{', '{"model":', '{"model":"sim-fast",}', "{'model':'sim-fast'}", 'NaN', '{"a":1}{', '[', 'nul', '"unterminated', `{"model":"sim-fast","messages":[{"role":"user","content":"${CANARY_PROMPT}"}]`, '\u0000', '{"model":"sim-fast"} trailing'];
  for (const path of [chat, messages, '/v1/embeddings']) {
    for (const body of badJson) cases.push({ name: `bad json ${JSON.stringify(body.slice(0, 15))} ${path}`, path, body, status: 400, code: 'invalid_request', param: 'body' });
    cases.push({ name: `empty body ${path}`, path, body: '', status: 400, code: 'invalid_request', param: 'body' });
    cases.push({ name: `invalid utf-8 ${path}`, path, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), status: 400, code: 'invalid_request', param: 'body' });
    for (const value of ['null', '[]', '[1,2]', '42', '"text"', 'true']) cases.push({ name: `non-object ${value} ${path}`, path, body: value, status: 400, code: 'invalid_request' });
  }

  const openAIWrong: Array<[string, Record<string, unknown>, string]> = [
    ['model missing', { model: undefined }, 'model'],
    ['model number', { model: 42 }, 'model'],
    ['model empty', { model: '' }, 'model'],
    ['model object', { model: { name: 'x' } }, 'model'],
    ['messages missing', { messages: undefined }, 'messages'],
    ['messages string', { messages: 'hi' }, 'messages'],
    ['messages empty', { messages: [] }, 'messages'],
    ['messages object', { messages: { role: 'user' } }, 'messages'],
    ['message null', { messages: [null] }, 'messages[0]'],
    ['message number', { messages: [3] }, 'messages[0]'],
    ['role missing', { messages: [{ content: 'x' }] }, 'messages[0].role'],
    ['role unknown', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    ['role number', { messages: [{ role: 1, content: 'x' }] }, 'messages[0].role'],
    ['content number', { messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    ['content object', { messages: [{ role: 'user', content: { text: 'x' } }] }, 'messages[0].content'],
    ['content part unknown type', { messages: [{ role: 'user', content: [{ type: 'hologram' }] }] }, 'messages[0].content[0].type'],
    ['content part text missing', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0].text'],
    ['image_url missing url', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }, 'messages[0].content[0].image_url.url'],
    ['tool message without id', { messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].tool_call_id'],
    ['tool_calls not array', { messages: [{ role: 'assistant', tool_calls: 'x' }] }, 'messages[0].tool_calls'],
    ['tool_call without function', { messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function' }] }] }, 'messages[0].tool_calls[0].function'],
    ['tools not array', { tools: {} }, 'tools'],
    ['tool without function', { tools: [{ type: 'function' }] }, 'tools[0].function'],
    ['tool name missing', { tools: [{ type: 'function', function: { parameters: {} } }] }, 'tools[0].function.name'],
    ['tool_choice invalid', { tool_choice: 'sometimes' }, 'tool_choice'],
    ['tool_choice number', { tool_choice: 3 }, 'tool_choice'],
    ['response_format unknown', { response_format: { type: 'xml' } }, 'response_format.type'],
    ['response_format string', { response_format: 'json' }, 'response_format'],
    ['json_schema missing schema', { response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
    ['max_tokens negative', { max_tokens: -1 }, 'max_tokens'],
    ['max_tokens string', { max_tokens: '10' }, 'max_tokens'],
    ['max_tokens float', { max_tokens: 1.5 }, 'max_tokens'],
    ['max_completion_tokens zero', { max_completion_tokens: 0 }, 'max_completion_tokens'],
    ['temperature string', { temperature: 'hot' }, 'temperature'],
    ['temperature too high', { temperature: 9 }, 'temperature'],
    ['top_p string', { top_p: 'x' }, 'top_p'],
    ['stop number', { stop: 5 }, 'stop'],
    ['stop array of numbers', { stop: [1, 2] }, 'stop[0]'],
    ['seed string', { seed: 'abc' }, 'seed'],
    ['stream string', { stream: 'yes' }, 'stream'],
    ['stream_options string', { stream: true, stream_options: 'x' }, 'stream_options'],
    ['user number', { user: 5 }, 'user'],
    ['metadata array', { metadata: [1] }, 'metadata'],
    ['parallel_tool_calls string', { parallel_tool_calls: 'no' }, 'parallel_tool_calls'],
  ];
  for (const [name, patch, param] of openAIWrong) cases.push({ name: `openai ${name}`, path: chat, body: openAIBody(patch), status: 400, code: 'invalid_request', param });

  const anthropicWrong: Array<[string, Record<string, unknown>, string]> = [
    ['model missing', { model: undefined }, 'model'],
    ['model number', { model: 1 }, 'model'],
    ['max_tokens missing', { max_tokens: undefined }, 'max_tokens'],
    ['max_tokens zero', { max_tokens: 0 }, 'max_tokens'],
    ['max_tokens string', { max_tokens: 'ten' }, 'max_tokens'],
    ['messages missing', { messages: undefined }, 'messages'],
    ['messages empty', { messages: [] }, 'messages'],
    ['messages string', { messages: 'x' }, 'messages'],
    ['role system in messages', { messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role'],
    ['role unknown', { messages: [{ role: 'bot', content: 'x' }] }, 'messages.0.role'],
    ['content number', { messages: [{ role: 'user', content: 1 }] }, 'messages.0.content'],
    ['block unknown', { messages: [{ role: 'user', content: [{ type: 'video' }] }] }, 'messages.0.content.0.type'],
    ['text block no text', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text'],
    ['image no source', { messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages.0.content.0.source'],
    ['tool_use no id', { messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'x', input: {} }] }] }, 'messages.0.content.0.id'],
    ['tool_result no id', { messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }, 'messages.0.content.0.tool_use_id'],
    ['system number', { system: 5 }, 'system'],
    ['system bad block', { system: [{ type: 'image' }] }, 'system.0.type'],
    ['tools object', { tools: {} }, 'tools'],
    ['tool no name', { tools: [{ input_schema: { type: 'object' } }] }, 'tools.0.name'],
    ['tool no schema', { tools: [{ name: 'x' }] }, 'tools.0.input_schema'],
    ['tool_choice bad', { tool_choice: { type: 'maybe' } }, 'tool_choice.type'],
    ['tool_choice tool without name', { tool_choice: { type: 'tool' } }, 'tool_choice.name'],
    ['stop_sequences string', { stop_sequences: 'x' }, 'stop_sequences'],
    ['temperature string', { temperature: 'x' }, 'temperature'],
    ['top_k negative', { top_k: -1 }, 'top_k'],
    ['stream number', { stream: 1 }, 'stream'],
    ['metadata string', { metadata: 'x' }, 'metadata'],
    ['thinking bad', { thinking: { type: 'enabled' } }, 'thinking.budget_tokens'],
  ];
  for (const [name, patch, param] of anthropicWrong) cases.push({ name: `anthropic ${name}`, path: messages, body: anthropicBody(patch), status: 400, code: 'invalid_request', param });

  const embeddingsWrong: Array<[string, Record<string, unknown>]> = [
    ['input missing', { model: 'sim-embed' }],
    ['input number', { model: 'sim-embed', input: 5 }],
    ['input empty array', { model: 'sim-embed', input: [] }],
    ['input array of objects', { model: 'sim-embed', input: [{}] }],
    ['model missing', { input: 'x' }],
    ['dimensions string', { model: 'sim-embed', input: 'x', dimensions: 'big' }],
    ['encoding_format bad', { model: 'sim-embed', input: 'x', encoding_format: 'hex' }],
  ];
  for (const [name, body] of embeddingsWrong) cases.push({ name: `embeddings ${name}`, path: '/v1/embeddings', body: JSON.stringify(body), status: 400, code: 'invalid_request' });

  for (const model of ['gpt5-nope', 'sim-fastest', 'nope/sim-fast', '../../etc/passwd', 'SIM-FAST', 'sim fast', 'x'.repeat(300), 'sim-fast@not-a-fault-x']) {
    cases.push({ name: `unknown model ${model.slice(0, 20)} chat`, path: chat, body: openAIBody({ model }), status: model.startsWith('sim-fast@') ? 400 : 404, code: model.startsWith('sim-fast@') ? 'invalid_request' : 'model_not_found' });
    cases.push({ name: `unknown model ${model.slice(0, 20)} messages`, path: messages, body: anthropicBody({ model }), status: model.startsWith('sim-fast@') ? 400 : 404, code: model.startsWith('sim-fast@') ? 'invalid_request' : 'model_not_found' });
  }
  cases.push({ name: 'embeddings on a chat-only model', path: '/v1/embeddings', body: JSON.stringify({ model: 'sim-fast', input: 'x' }), status: 400, code: 'invalid_request' });

  for (const [method, path] of [['GET', chat], ['PUT', chat], ['DELETE', messages], ['PATCH', '/v1/embeddings'], ['POST', '/v1/models'], ['POST', '/healthz'], ['DELETE', '/readyz']]) {
    cases.push({ name: `${method} ${path}`, method, path, body: method === 'GET' ? undefined : '{}', status: 405, code: 'method_not_allowed' });
  }
  for (const path of ['/', '/v1', '/v2/chat/completions', '/v1/chat/completion', '/v1/chat/completions/extra', '/admin/x', '/%', '/favicon.ico', '/v1/responses/../../x']) {
    cases.push({ name: `unknown path ${path}`, method: 'POST', path, body: '{}', status: 404, code: 'not_found' });
  }
  return cases;
}

let gateway: TestGateway;
const logLines: string[] = [];

before(async () => {
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logLines.push(String(chunk));
      callback();
    },
  });
  gateway = await startTestGateway({ logger: pino({ level: 'trace' }, sink), maxBodyBytes: 64 * 1024 });
});

after(async () => {
  await gateway?.close();
});

test('at least 200 malformed requests each get their documented status and error body, without a crash', async () => {
  const cases = buildCases();
  assert.ok(cases.length >= 200, `only ${cases.length} cases`);
  const failures: string[] = [];
  for (const c of cases) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...c.headers };
    if (c.auth === undefined) headers.authorization = `Bearer ${gateway.key}`;
    else if (c.auth !== null && c.auth !== '') headers.authorization = c.auth;
    const res = await request(gateway.url + c.path, { method: (c.method ?? 'POST') as 'POST', headers, body: c.body });
    const text = await res.body.text();
    let body: { error?: { code?: string; param?: string | null; message?: string }; type?: string };
    try {
      body = JSON.parse(text);
    } catch {
      failures.push(`${c.name}: non-JSON body ${text.slice(0, 80)}`);
      continue;
    }
    const problems: string[] = [];
    if (res.statusCode !== c.status) problems.push(`status ${res.statusCode} != ${c.status}`);
    if (body.error?.code !== c.code) problems.push(`code ${body.error?.code} != ${c.code}`);
    if (res.headers['x-breakwater-error-code'] !== c.code) problems.push('missing x-breakwater-error-code');
    if (c.path === messages && body.type !== 'error') problems.push('not Anthropic-shaped');
    if (c.param !== undefined && body.error?.param !== c.param) problems.push(`param ${body.error?.param} != ${c.param}`);
    if (typeof body.error?.message !== 'string' || body.error.message.length === 0) problems.push('no message');
    if (problems.length > 0) failures.push(`${c.name}: ${problems.join('; ')} (${body.error?.message ?? ''})`);
  }
  assert.deepEqual(failures, []);
});

test('oversized bodies get 413 whether the length is declared or streamed', async () => {
  const big = openAIBody({ padding: 'x'.repeat(100 * 1024) });
  const declared = await request(gateway.url + chat, { method: 'POST', headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' }, body: big });
  assert.equal(declared.statusCode, 413);
  assert.equal(((await declared.body.json()) as { error: { code: string } }).error.code, 'request_too_large');

  async function* chunks() {
    for (let i = 0; i < 40; i++) yield Buffer.from('x'.repeat(4096));
  }
  const streamed = await request(gateway.url + messages, { method: 'POST', headers: { 'x-api-key': gateway.key, 'content-type': 'application/json' }, body: Readable.from(chunks()) });
  assert.equal(streamed.statusCode, 413);
  const body = (await streamed.body.json()) as { type: string; error: { code: string } };
  assert.equal(body.type, 'error');
  assert.equal(body.error.code, 'request_too_large');
});

test('after all that, a valid request succeeds and the logs hold no prompt or key', async () => {
  const res = await request(gateway.url + chat, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
    body: openAIBody({}),
  });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as { choices: Array<{ message: { content: string } }> };
  assert.ok(body.choices[0]!.message.content.length > 0);
  await gateway.app.logger.flush();
  const log = logLines.join('');
  assert.ok(log.length > 0, 'the access log wrote something');
  assert.ok(!log.includes(CANARY_PROMPT), 'a prompt reached the log');
  assert.ok(!log.includes(CANARY_KEY), 'a presented key reached the log');
  assert.ok(!log.includes(gateway.key), 'the virtual key reached the log');
});
