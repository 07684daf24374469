import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { TOKENIZER_WARM_UP_BOUND_MS } from '../src/server/background-warm-up.js';
import { tokenizerLoaded, tokenizerLoading } from '../src/tenancy/token-estimator.js';
import { startTestGateway } from './helpers/test-gateway.js';

// The tokenizer is a module-level singleton: once loaded it stays loaded for this process. Node's
// test runner gives each file its own process, so this file sees it unloaded at first, and its
// tests run in order: the one that never loads it before the one that does. The busy server is
// in warm-up-busy.test.ts, for a process of its own.

describe('tokenizer warm-up on a quiet server (SPEC CS-1, CS-2)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('with server.warmUp off the tokenizer never loads without a request that needs it', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const gw = await startTestGateway({ configYaml: 'server:\n  warmUp: false\n', clock });
    cleanups.push(() => gw.close());
    await clock.advance(TOKENIZER_WARM_UP_BOUND_MS + 60_000);
    await gw.app.warmUp.done;
    assert.equal(tokenizerLoading(), false);
    await gw.close();
  });

  it('loads no tokenizer at ready, and loads it once no request came for server.warmUpQuietMs', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const gw = await startTestGateway({ configYaml: 'server:\n  warmUpQuietMs: 500\n', clock });
    cleanups.push(() => gw.close());
    assert.equal(tokenizerLoading(), false, 'ready loads no tokenizer');
    await clock.advance(499);
    assert.equal(tokenizerLoading(), false, 'not quiet long enough yet');
    await clock.advance(1);
    assert.equal(tokenizerLoading(), true, 'quiet for 500 ms: it loads');
    await gw.app.warmUp.done;
    assert.equal(tokenizerLoaded(), true);
  });
});
