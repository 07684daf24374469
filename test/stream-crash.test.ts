import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanEnv, startCli, type StartedCli } from './helpers/cli-process.js';
import { chatText, readSse } from './helpers/sse-client.js';

// Real processes: a gateway is SIGKILLed mid-stream and a new one starts on the same data dir.
// The simulator runs at its real pace (sim-fast: ~120 tokens/s), so the stream is still going
// when the first process dies.
const dataDir = mkdtempSync(join(tmpdir(), 'bw-crash-'));
const running: StartedCli[] = [];
after(() => {
  for (const started of running) started.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<StartedCli> {
  const started = await startCli(dataDir, [], cleanEnv({ BREAKWATER_SIM__TIME_SCALE: '1' }));
  running.push(started);
  return started;
}

test('after a crash, a resumable stream replays what was committed and ends as interrupted; finished ones replay whole', async () => {
  const first = await start();
  const key = first.ready.virtualKey!;
  const post = (content: string) =>
    fetch(`${first.ready.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-breakwater-resumable': 'true' },
      body: JSON.stringify({ model: 'sim-fast', stream: true, max_tokens: 2000, messages: [{ role: 'user', content }] }),
    });

  const short = await post('Say hi.');
  const finishedId = short.headers.get('x-breakwater-stream-id')!;
  const finished = await readSse(short);
  assert.equal(finished.events.at(-1)!.data, '[DONE]');

  const long = await post('Write 1500 words about harbours.');
  const cutId = long.headers.get('x-breakwater-stream-id')!;
  const seen = await readSse(long, (event) => event.id === '10');
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await start();
  assert.equal(second.ready.virtualKey, undefined, 'the same data dir: no new keys');
  const resume = (id: string, lastEventId?: string) =>
    fetch(`${second.ready.url}/v1/streams/${id}`, { headers: { authorization: `Bearer ${key}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } });

  const replayed = await readSse(await resume(finishedId));
  assert.deepEqual(replayed.events, finished.events, 'a finished stream survives the restart event for event');

  const rest = await readSse(await resume(cutId, '10'));
  assert.equal(rest.ended, true, 'the reader is not left waiting');
  const events = [...seen.events, ...rest.events];
  assert.deepEqual(
    events.map((event) => Number(event.id)),
    events.map((_, index) => index),
    'every event the first process committed, once, then the terminal one',
  );
  const terminal = JSON.parse(events.at(-1)!.data) as { error: { code: string; reason: string; retryable: boolean } };
  assert.equal(terminal.error.reason, 'interrupted');
  assert.equal(terminal.error.retryable, true);
  assert.ok(!events.some((event) => event.data === '[DONE]'), 'an interrupted stream never ends cleanly');
  assert.ok(chatText(events).length > 0);
});
