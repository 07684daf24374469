import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../src/core/clock.js';
import { TOKENIZER_WARM_UP_BOUND_MS } from '../src/server/background-warm-up.js';
import { tokenizerLoaded, tokenizerLoading } from '../src/tenancy/token-estimator.js';
import { completeChat, startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// The tokenizer is a module-level singleton: this file gets a process of its own from Node's test
// runner, so it starts unloaded (the first assertion would say otherwise).

const QUIET_MS = 1_000;
const START = 1_700_000_000_000;


/** Whether the ledger tagged each request cold. */
async function coldTags(gw: TestGateway, ids: readonly string[]): Promise<boolean[]> {
  await gw.app.ledger.flush();
  return Promise.all(ids.map(async (id) => (await gw.app.stores.ledger.getRequest(id))?.cold ?? false));
}

describe('warm-up on a busy server (SPEC CS-2, CS-3)', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('requests keep the tokenizer from loading until the bound, and every request before the warm-up finished is cold', async () => {
    const clock = new ManualClock(START);
    const gw = await startTestGateway({ configYaml: `server:\n  warmUpQuietMs: ${QUIET_MS}\n`, clock });
    cleanups.push(() => gw.close());
    assert.equal(tokenizerLoading(), false, 'ready loads no tokenizer');

    // A request every half quiet period: no check ever finds a quiet one behind it.
    const early: string[] = [];
    while (clock.now() < START + TOKENIZER_WARM_UP_BOUND_MS) {
      early.push(await completeChat(gw, 'sim-fast'));
      await clock.advance(QUIET_MS / 2 - 1);
      assert.equal(tokenizerLoading(), false, `still busy at +${clock.now() - START} ms`);
      await clock.advance(1);
    }
    assert.equal(clock.now(), START + TOKENIZER_WARM_UP_BOUND_MS);
    assert.equal(tokenizerLoading(), true, 'never quiet: it loads at the bound anyway');
    await gw.app.warmUp.done;
    assert.equal(tokenizerLoaded(), true);

    const warm = await completeChat(gw, 'sim-fast');
    assert.equal(early.length, 20);
    assert.deepEqual(await coldTags(gw, early), early.map(() => true), 'each request before the warm-up finished is cold, though the sim was just used');
    assert.deepEqual(await coldTags(gw, [warm]), [false], 'after it, a request to a provider used 500 ms ago is warm');
  });
});
