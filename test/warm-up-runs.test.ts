import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { defineAgent } from '../src/runs/define-agent.js';
import { tokenizerLoading } from '../src/tenancy/token-estimator.js';
import { heldUpstreamConfig, startHeldUpstream } from './helpers/held-upstream.js';
import { runClient } from './helpers/run-client.js';
import { startTestGateway } from './helpers/test-gateway.js';

// The tokenizer is a module-level singleton: this file gets a process of its own from Node's test
// runner, so it starts unloaded.

const QUIET_MS = 1_000;

describe('warm-up while a run streams (SPEC CS-2)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("a run's LLM call in flight keeps the tokenizer from loading; once it ended, a quiet server loads it", async () => {
    const upstream = await startHeldUpstream({ firstToken: 'sent' });
    cleanups.push(() => upstream.close());
    const oneCall = defineAgent({
      name: 'one-call',
      async run(ctx) {
        return (await ctx.llm({ model: 'chat', messages: [{ role: 'user', content: 'think' }] })).text;
      },
    });
    const clock = new ManualClock(1_700_000_000_000);
    const configYaml = heldUpstreamConfig(upstream.baseUrl, ['server:', `  warmUpQuietMs: ${QUIET_MS}`]);
    const gw = await startTestGateway({ configYaml, clock, agents: [oneCall] });
    cleanups.push(() => gw.close());
    const client = runClient(gw.url, gw.key);

    // Calls that fail before any upstream is picked are over too: each must leave the count balanced.
    for (const stream of [false, true]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'no-such-model', stream, messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(res.status, 404, await res.text());
    }

    const { id } = await client.create('one-call', {});
    await upstream.called;
    // The run's 202 went out long ago; only its LLM stream is left, and that is not an HTTP request.
    for (let check = 1; check <= 4; check++) {
      await clock.advance(QUIET_MS);
      assert.equal(tokenizerLoading(), false, `the run's call is still streaming at check ${check}`);
    }

    upstream.release();
    const run = await client.finish(id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.equal(run.result, 'thinking done');
    // The first check after the run's polls sees their requests; the next one finds the server quiet.
    await clock.advance(QUIET_MS);
    assert.equal(tokenizerLoading(), false, 'the requests that read the run were just now');
    await clock.advance(QUIET_MS);
    assert.equal(tokenizerLoading(), true, 'quiet for a whole check: it loads');
    await gw.app.warmUp.done;
  });
});
