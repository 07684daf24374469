import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import OpenAI, { NotFoundError } from 'openai';
import { heldUpstreamConfig, startHeldUpstream, type HeldUpstream } from './helpers/held-upstream.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

/** Far longer than the 150 ms the gateway waits for a first token: only a hang takes this long. */
const HANG_MS = 5_000;

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${HANG_MS} ms`)), HANG_MS)));
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

describe('streamed /v1/responses: the first event does not wait for the upstream (SPEC CS-5)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function start(earlyCommitMs = 60_000): Promise<{ upstream: HeldUpstream; gw: TestGateway; client: OpenAI }> {
    const upstream = await startHeldUpstream({ firstToken: 'held' });
    cleanups.push(async () => {
      upstream.release();
      await upstream.close();
    });
    // By default the early commit is set far off, so only the first-event rule can send anything in time.
    const gw = await startTestGateway({ configYaml: heldUpstreamConfig(upstream.baseUrl, ['stream:', `  earlyCommitMs: ${earlyCommitMs}`]) });
    cleanups.push(() => gw.close());
    return { upstream, gw, client: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.key, maxRetries: 0 }) };
  }

  for (const [store, earlyCommitMs] of [[true, 60_000], [false, 60_000], [true, 1], [false, 1]] as const) {
    it(`store: ${store}, earlyCommitMs ${earlyCommitMs}: response.created reaches the SDK while the upstream is still silent; the answer follows once it speaks`, async () => {
      const { upstream, client } = await start(earlyCommitMs);
      const stream = await within(client.responses.create({ model: 'chat', input: 'think', stream: true, store }), 'response headers');
      const events = stream[Symbol.asyncIterator]();
      const first = await within(events.next(), 'first event');
      assert.equal(first.value?.type, 'response.created');
      assert.equal(first.value?.type === 'response.created' && first.value.response.status, 'in_progress');
      await upstream.called;

      upstream.release();
      const rest = [];
      for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
      assert.deepEqual(
        [...new Set(rest.map((e) => e.type))].filter((type) => type === 'response.created' || type === 'response.in_progress'),
        ['response.in_progress'],
        'created is not sent twice',
      );
      const completed = rest.at(-1);
      assert.equal(completed?.type, 'response.completed', rest.map((e) => e.type).join(', '));
      const text = completed.type === 'response.completed' ? completed.response.output.flatMap((item) => (item.type === 'message' ? item.content : [])) : [];
      assert.deepEqual(text.map((part) => (part.type === 'output_text' ? part.text : '')), ['thinking done']);
    });
  }

  it('a request refused before its upstream call still gets its HTTP status, not a stream (SPEC ST-5)', async () => {
    const { client } = await start();
    for (const store of [true, false]) {
      await assert.rejects(
        within(client.responses.create({ model: 'no-such-model', input: 'think', stream: true, store }), 'refusal'),
        (error: unknown) => error instanceof NotFoundError && error.status === 404,
      );
    }
  });
});
