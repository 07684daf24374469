import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import OpenAI from 'openai';
import { startSimServer } from '../src/sim/sim-server.js';
import type { CassetteEntry } from '../src/simulation/cassette.js';
import { checkDrift, compareShapes } from '../src/simulation/cassette-drift.js';
import { startRecorder, startReplayer } from '../src/simulation/cassette-servers.js';

// Record real traffic (the sim server over HTTP stands in for a provider), replay it offline, and
// check it for drift (SPEC SIM-16, SIM-5).
const SECRET = 'sk-live-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'bw-cassette-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function ask(baseURL: string): Promise<{ text: string; deltas: string[] }> {
  const client = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: SECRET, maxRetries: 0 });
  const plain = await client.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: `My key is ${SECRET}. Hello` }], max_tokens: 20 });
  const stream = await client.chat.completions.create({ model: 'sim-fast', messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 30, stream: true });
  const deltas: string[] = [];
  for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta?.content ?? '');
  return { text: plain.choices[0]!.message.content ?? '', deltas };
}

test('record through a proxy, replay offline with the same answers and chunks, and report drift', { timeout: 30_000 }, async () => {
  const upstream = await startSimServer({ port: 0, seed: 7, timeScale: 0.05 });
  const recorder = await startRecorder({ out: dir, upstream: upstream.url });
  const live = await ask(recorder.url);
  await recorder.close();

  const files = readdirSync(dir);
  assert.equal(files.length, 2, 'one cassette file per normalised request');
  const raw = files.map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  assert.ok(!raw.includes(SECRET) && !raw.includes('0123456789abcdef'), 'no key in the cassette, neither from headers nor from bodies');
  const stream = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CassetteEntry).find((e) => (e.request.body as { stream?: boolean }).stream)!;
  const chunks = stream.responses[0]!.chunks;
  assert.ok(chunks.length > 3, `the stream kept its chunk boundaries (${chunks.length} chunks)`);
  assert.ok(chunks.every((c, i) => i === 0 || c.atMs >= chunks[i - 1]!.atMs), 'with their times');
  assert.ok(chunks.at(-1)!.atMs > 0);

  await upstream.close();
  const replayer = await startReplayer({ cassette: dir, timeScale: 0 });
  try {
    const replayed = await ask(replayer.url);
    assert.equal(replayed.text.replace('[redacted]', SECRET), live.text.replace('[redacted]', SECRET));
    assert.deepEqual(replayed.deltas, live.deltas, 'the same stream deltas, offline');
    const miss = await fetch(`${replayer.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'never recorded' }] }) });
    assert.equal(miss.status, 404);
    assert.equal(((await miss.json()) as { error: { type: string } }).error.type, 'cassette_miss');
  } finally {
    await replayer.close();
  }

  const again = await startSimServer({ port: 0, seed: 8, timeScale: 0 });
  try {
    assert.deepEqual(await checkDrift(dir, again.url), [], 'other words, same shape: no drift');
    const drifts = await checkDrift(dir, again.url, { 'x-sim-fault': '503' });
    assert.equal(drifts.length, 2);
    assert.ok(drifts.every((d) => d.differences.includes('status 200 → 503')), JSON.stringify(drifts));
  } finally {
    await again.close();
  }
});

test('drift names paths that went missing, appeared or changed type', () => {
  const answer = (body: unknown) => ({ status: 200, headers: { 'content-type': 'application/json' }, chunks: [{ atMs: 0, data: JSON.stringify(body) }] });
  assert.deepEqual(compareShapes(answer({ id: 'a', usage: { total: 1 } }), answer({ id: 2, extra: true })), [
    '$.id was string, is number',
    '$.usage (object) is gone',
    '$.usage.total (number) is gone',
    '$.extra (boolean) is new',
  ]);
});
