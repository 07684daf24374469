import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { SimAdapter } from '../src/sim/sim-adapter.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// Tracing against an in-test OTLP/HTTP receiver (SPEC OBS-3): the exporter posts JSON to
// /v1/traces; the test reads the spans' names, kinds, parents and GenAI attributes.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

const CONFIG = `
providers:
  sim: { kind: sim }
  sim-b: { kind: sim }
models:
  strict:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    validators: [{ type: refusal }]
`;

let receiver: Server;
let gateway: TestGateway;
const spans: OtlpSpan[] = [];
const waiters: (() => void)[] = [];
const upstreamTraceparents: string[] = [];

async function body(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

before(async () => {
  receiver = createServer(async (req, res) => {
    const text = await body(req);
    if (req.url === '/v1/traces') {
      assert.match(String(req.headers['content-type']), /json/);
      const payload = JSON.parse(text) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const resource of payload.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      for (const wake of waiters.splice(0)) wake();
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  gateway = await startTestGateway({
    configYaml: CONFIG,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' },
  });
});

after(async () => {
  await gateway?.close();
  receiver?.close();
});

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  const [first] = Object.values(value);
  return typeof first === 'string' && /^\d+$/.test(first) && 'intValue' in value ? Number(first) : first;
}

async function spansOfTrace(traceId: string, count: number): Promise<OtlpSpan[]> {
  for (;;) {
    const found = spans.filter((s) => s.traceId === traceId);
    if (found.length >= count) return found;
    await new Promise<void>((resolve) => waiters.push(resolve));
  }
}

test('a request that fell back exports a server span and one client span per attempt, with GenAI attributes', async () => {
  const primary = gateway.app.providers.adapter('sim') as SimAdapter;
  const fallback = gateway.app.providers.adapter('sim-b') as SimAdapter;
  primary.engine.setFaults('refusal');
  // The simulator's journal keeps no headers: watch what the fallback adapter is called with.
  const generate = fallback.generate.bind(fallback);
  const stream = fallback.stream.bind(fallback);
  fallback.generate = (request, ctx) => (upstreamTraceparents.push(ctx.headers?.traceparent ?? ''), generate(request, ctx));
  fallback.stream = (request, ctx) => (upstreamTraceparents.push(ctx.headers?.traceparent ?? ''), stream(request, ctx));
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  await openai.chat.completions.create(
    { model: 'strict', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 },
    { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
  );
  primary.engine.clearFaults();
  fallback.generate = generate;
  fallback.stream = stream;

  const trace = await spansOfTrace(traceId, 3);
  const server = trace.find((s) => s.kind === 2)!;
  assert.ok(server, 'a SERVER span');
  assert.equal(server.name, 'chat strict');
  assert.equal(server.parentSpanId, '00f067aa0ba902b7', "the client's traceparent is the parent");
  assert.equal(attribute(server, 'gen_ai.operation.name'), 'chat');
  assert.equal(attribute(server, 'gen_ai.request.model'), 'strict');
  assert.equal(attribute(server, 'gen_ai.system'), 'sim-b');
  assert.equal(attribute(server, 'breakwater.served_by'), 'sim-b/sim-fast');
  assert.equal(attribute(server, 'http.response.status_code'), 200);
  assert.equal(attribute(server, 'breakwater.attempts'), 2);
  assert.ok(Number(attribute(server, 'gen_ai.usage.input_tokens')) > 0);
  assert.ok(Number(attribute(server, 'gen_ai.usage.output_tokens')) > 0);

  const attempts = trace.filter((s) => s.kind === 3);
  assert.equal(attempts.length, 2);
  for (const span of attempts) assert.equal(span.parentSpanId, server.spanId);
  const [first, second] = [...attempts].sort((a, b) => Number(attribute(a, 'breakwater.attempt')) - Number(attribute(b, 'breakwater.attempt')));
  assert.equal(first!.name, 'chat sim-fast');
  assert.equal(attribute(first!, 'gen_ai.system'), 'sim');
  assert.equal(attribute(first!, 'breakwater.attempt.outcome'), 'semantic_failure');
  assert.equal(attribute(second!, 'gen_ai.system'), 'sim-b');
  assert.equal(attribute(second!, 'breakwater.attempt.outcome'), 'success');
});

test('upstreams get a traceparent naming the gateway span, in the same trace', () => {
  assert.equal(upstreamTraceparents.length, 1);
  const traceparent = upstreamTraceparents[0]!;
  assert.match(traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
  assert.ok(!traceparent.includes('00f067aa0ba902b7'), 'not the client span: the gateway span is the parent');
});
