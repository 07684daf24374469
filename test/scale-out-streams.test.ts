import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startReplicas, type ReplicaSet } from './helpers/replicas.js';
import { servicesMissing } from './helpers/services.js';
import { chatText, readSse, type ParsedEvent } from './helpers/sse-client.js';

const skip = await servicesMissing();

const PROMPT = { model: 'sim-fast', stream: true, max_tokens: 120, messages: [{ role: 'user', content: 'Write about breakwaters and harbours.' }] };
const ids = (events: ParsedEvent[]) => events.map((event) => Number(event.id));

function post(url: string, key: string, body: unknown, resumable = true) {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(resumable ? { 'x-breakwater-resumable': 'true' } : {}) },
    body: JSON.stringify(body),
  });
}

const resume = (url: string, key: string, id: string, lastEventId: string) =>
  fetch(`${url}/v1/streams/${id}`, { headers: { authorization: `Bearer ${key}`, 'last-event-id': lastEventId } });

describe('resumable streams across replicas (SPEC ST-12, ST-14)', { skip }, () => {
  let set: ReplicaSet;
  before(async () => {
    // Real simulated time: streams take seconds, so they are live while the client moves.
    set = await startReplicas(3, { timeScale: 1, sharedYaml: 'streamLeaseMs: 1000' });
  });
  after(() => set?.close());

  it('a stream started on replica A resumes on replica B with no gap and no duplicate, following it live', async () => {
    const [a, b, c] = set.replicas.map((replica) => replica.ready.url) as [string, string, string];
    const reference = chatText((await readSse(await post(c, set.virtualKey, PROMPT, false))).events);
    const first = await post(a, set.virtualKey, PROMPT);
    assert.equal(first.status, 200);
    const id = first.headers.get('x-breakwater-stream-id')!;
    const cut = await readSse(first, (event) => event.id === '10');
    const resumed = await resume(b, set.virtualKey, id, '10');
    assert.equal(resumed.status, 200);
    const rest = await readSse(resumed);
    assert.equal(rest.ended, true);
    const all = [...cut.events, ...rest.events];
    assert.deepEqual(ids(all), [...Array(all.length).keys()], 'ids 0..n exactly once across replicas');
    assert.ok(rest.events.length > 20, `B followed the live stream (${rest.events.length} events after the cut)`);
    assert.equal(all.at(-1)!.data, '[DONE]');
    assert.equal(chatText(all), reference, 'the whole answer, exactly once');
  });

  it('a replica SIGKILLed mid-stream: the client resumes on another and gets a clean terminal error within the lease', async () => {
    const victim = await set.add();
    const [, b] = set.replicas.map((replica) => replica.ready.url) as [string, string];
    // 10 tokens per second: the stream would run for ~10 s.
    const first = await post(victim.ready.url, set.virtualKey, { ...PROMPT, model: 'sim-slow', max_tokens: 100 });
    const id = first.headers.get('x-breakwater-stream-id')!;
    const cut = await readSse(first, (event) => event.id === '3');
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = performance.now();
    const rest = await readSse(await resume(b, set.virtualKey, id, '3'));
    const waited = performance.now() - killedAt;
    assert.equal(rest.ended, true, 'never silence: the stream ends');
    const all = [...cut.events, ...rest.events];
    assert.deepEqual(ids(all), [...Array(all.length).keys()], 'no gap, no duplicate');
    const terminal = JSON.parse(all.at(-1)!.data) as { error?: { message: string } };
    assert.match(terminal.error?.message ?? '', /stopped before it finished/);
    assert.ok(waited < 5_000, `ended ${waited.toFixed(0)} ms after the kill (lease 1 s)`);
    const status = await fetch(`${b}/v1/streams/${id}`, { headers: { authorization: `Bearer ${set.virtualKey}`, 'last-event-id': String(all.length - 1) } });
    assert.equal(status.status, 200);
    assert.deepEqual((await readSse(status)).events, [], 'nothing after the terminal event');
  });

  it('a cancel sent to another replica stops the stream where it is produced (SPEC ST-4)', async () => {
    const [a, b] = set.replicas.map((replica) => replica.ready.url) as [string, string];
    const first = await post(a, set.virtualKey, { ...PROMPT, model: 'sim-slow', max_tokens: 100 });
    const id = first.headers.get('x-breakwater-stream-id')!;
    const cut = await readSse(first, (event) => event.id === '2');
    const started = performance.now();
    const cancel = await fetch(`${b}/v1/streams/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${set.virtualKey}` } });
    assert.equal(cancel.status, 200);
    assert.deepEqual(await cancel.json(), { id, object: 'stream', status: 'cancelled' });
    assert.ok(performance.now() - started < 1_000, 'the owning replica stopped it within 1 s');
    const rest = await readSse(await resume(b, set.virtualKey, id, '2'));
    const all = [...cut.events, ...rest.events];
    assert.deepEqual(ids(all), [...Array(all.length).keys()]);
    assert.equal((JSON.parse(all.at(-1)!.data) as { error: { code: string } }).error.code, 'cancelled');
    assert.ok(all.length < 60, 'stopped early, not run to the end');
  });
});
