import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSimServer } from '../src/sim/sim-server.js';
import { findNginx, nginxRequirement, startNginx, type NginxProxy } from './helpers/nginx.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// SPEC ST-10 through a real Debian nginx with its default buffering: the gateway's
// `X-Accel-Buffering: no` must make nginx pass tokens on at once, and heartbeats must keep a silent
// stream alive past nginx's proxy_read_timeout. Real time, margins sized for a loaded CI box.
const requirement = nginxRequirement();

let sim: Awaited<ReturnType<typeof startSimServer>>;
/** Heartbeat every 300 ms of silence. */
let chatty: TestGateway;
/** Heartbeats effectively off: the negative control. */
let quiet: TestGateway;
let chattyProxy: NginxProxy;
let quietProxy: NginxProxy;

const gatewayYaml = (simUrl: string, heartbeatMs: number) => `
providers:
  remote: { kind: openai-compatible, baseUrl: "${simUrl}/v1", apiKey: k }
models:
  paced: remote/sim-fast
stream: { earlyCommitMs: 100, heartbeatMs: ${heartbeatMs} }
`;

before(async () => {
  if (requirement.skip || !findNginx()) return;
  // sim-fast's real timing: ~150 ms to the first token, then ~120 tokens/s.
  sim = await startSimServer({ port: 0, host: '127.0.0.1', seed: 4, timeScale: 1 });
  [chatty, quiet] = await Promise.all([
    startTestGateway({ configYaml: gatewayYaml(sim.url, 300) }),
    startTestGateway({ configYaml: gatewayYaml(sim.url, 60_000) }),
  ]);
  [chattyProxy, quietProxy] = await Promise.all([
    startNginx({ upstream: chatty.url, location: ['proxy_read_timeout 1s;'] }),
    startNginx({ upstream: quiet.url, location: ['proxy_read_timeout 1s;'] }),
  ]);
});

after(async () => {
  await Promise.all([chattyProxy?.close(), quietProxy?.close()]);
  await Promise.all([chatty?.close(), quiet?.close()]);
  await sim?.close();
});

interface StreamRun {
  status: number;
  /** Request sent → first chunk holding a content token, ms. */
  firstTokenMs: number | undefined;
  /** Request sent → last chunk, ms. */
  lastChunkMs: number;
  raw: string;
  text: string;
  /** The body ended in an error (connection cut) instead of a clean end. */
  cut: boolean;
}

async function streamChat(baseUrl: string, key: string, maxTokens: number, fault?: string): Promise<StreamRun> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  if (fault) headers['x-sim-fault'] = fault;
  const body = { model: 'paced', stream: true, max_tokens: maxTokens, messages: [{ role: 'user', content: 'Tell me about harbours.' }] };
  const started = performance.now();
  const res = await fetch(`${baseUrl}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) });
  const decoder = new TextDecoder();
  let raw = '';
  let firstTokenMs: number | undefined;
  let lastChunkMs = 0;
  let cut = false;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      lastChunkMs = performance.now() - started;
      raw += decoder.decode(chunk, { stream: true });
      if (firstTokenMs === undefined && /"content":"[^"]/.test(raw)) firstTokenMs = lastChunkMs;
    }
  } catch {
    cut = true;
  }
  return { status: res.status, firstTokenMs, lastChunkMs, raw, text: contentOf(raw), cut };
}

function contentOf(raw: string): string {
  let text = '';
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const event = JSON.parse(line.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
    text += event.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

test('the first token arrives through nginx within 50 ms of arriving directly', requirement, async () => {
  // Both at once, so a busy moment on the machine lands on both; on a loaded machine a single
  // pair can still straddle a scheduling hiccup, so the best of three pairs counts (a buffering
  // proxy is late every time, by the whole answer).
  let late = Infinity;
  let report = '';
  for (let attempt = 0; attempt < 3 && late >= 50; attempt++) {
    const [direct, proxied] = await Promise.all([streamChat(chatty.url, chatty.key, 120), streamChat(chattyProxy.url, chatty.key, 120)]);
    assert.equal(proxied.status, 200);
    assert.ok(direct.firstTokenMs !== undefined && proxied.firstTokenMs !== undefined);
    // The answer keeps coming for a while after its first token, so a buffering proxy (which would
    // release the first token only with the rest) could not pass the comparison below.
    assert.ok(direct.lastChunkMs - direct.firstTokenMs > 400, `the stream ran ${(direct.lastChunkMs - direct.firstTokenMs).toFixed(0)} ms after its first token`);
    assert.equal(proxied.text, direct.text);
    assert.ok(proxied.raw.endsWith('data: [DONE]\n\n'));
    late = Math.min(late, proxied.firstTokenMs - direct.firstTokenMs);
    report += ` [through nginx ${proxied.firstTokenMs.toFixed(1)} ms, direct ${direct.firstTokenMs.toFixed(1)} ms]`;
  }
  assert.ok(late < 50, `first token${report}`);
});

test('heartbeats keep a stream silent for 2.5 s alive through nginx with proxy_read_timeout 1s', requirement, async () => {
  const fault = 'slow-first-token:ms=2500';
  const [direct, proxied] = await Promise.all([streamChat(chatty.url, chatty.key, 20, fault), streamChat(chattyProxy.url, chatty.key, 20, fault)]);
  assert.equal(proxied.status, 200);
  assert.ok(!proxied.cut, 'the stream was not cut');
  assert.ok(proxied.firstTokenMs! > 2000, `the upstream really was silent (first token at ${proxied.firstTokenMs?.toFixed(0)} ms)`);
  assert.ok((proxied.raw.match(/^: ping$/gm) ?? []).length >= 5, 'heartbeats went through during the silence');
  assert.ok(direct.text.length > 0);
  assert.equal(proxied.text, direct.text, 'the full answer came through');
  assert.ok(proxied.raw.endsWith('data: [DONE]\n\n'));
  assert.doesNotMatch(chattyProxy.errorLog(), /upstream timed out/);
});

test('without heartbeats nginx cuts the same silent stream (negative control)', requirement, async () => {
  const proxied = await streamChat(quietProxy.url, quiet.key, 20, 'slow-first-token:ms=2500');
  assert.equal(proxied.status, 200, 'the early commit went out before nginx gave up');
  assert.equal(proxied.text, '', 'no content made it through');
  assert.ok(!proxied.raw.includes('[DONE]'));
  assert.match(quietProxy.errorLog(), /upstream timed out/);
});
