import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config/load-config.js';
import { computeCostMicros, lookupPrice, PRICE_TABLE, PRICE_TABLE_DATE, pricesFor } from '../src/config/prices.js';
import { SIM_MODELS } from '../src/sim/sim-models.js';

describe('computeCostMicros (SPEC PV-6)', () => {
  it('charges input and output per 1M tokens in integer micro-USD', () => {
    // 1,000 × $2.50/1M = 2,500 µ$; 500 × $10/1M = 5,000 µ$.
    assert.deepEqual(computeCostMicros({ inputTokens: 1_000, outputTokens: 500 }, { input: 2.5, output: 10 }), { costMicros: 7_500, priceMissing: false });
  });

  it('charges cache reads at the cache-read price without counting them twice', () => {
    // 1,000 input of which 800 cached: 200 × 3 + 800 × 0.30 = 600 + 240; 100 output × 15 = 1,500.
    const cost = computeCostMicros({ inputTokens: 1_000, outputTokens: 100, cacheReadTokens: 800 }, { input: 3, output: 15, cacheRead: 0.3 });
    assert.deepEqual(cost, { costMicros: 2_340, priceMissing: false });
  });

  it('charges cache writes at their price and falls back to the input price when unpriced', () => {
    // 400 uncached × 3 + 600 written × 3.75 = 1,200 + 2,250.
    assert.equal(computeCostMicros({ inputTokens: 1_000, outputTokens: 0, cacheWriteTokens: 600 }, { input: 3, output: 15, cacheWrite: 3.75 }).costMicros, 3_450);
    assert.equal(computeCostMicros({ inputTokens: 1_000, outputTokens: 0, cacheReadTokens: 600 }, { input: 3, output: 15 }).costMicros, 3_000);
  });

  it('charges reasoning at the output price unless it has its own', () => {
    const usage = { inputTokens: 0, outputTokens: 1_000, reasoningTokens: 600 };
    assert.equal(computeCostMicros(usage, { input: 1, output: 4 }).costMicros, 4_000);
    // 400 × 4 + 600 × 2.
    assert.equal(computeCostMicros(usage, { input: 1, output: 4, reasoning: 2 }).costMicros, 2_800);
  });

  it('adds the per-request fee', () => {
    assert.equal(computeCostMicros({ inputTokens: 10, outputTokens: 0 }, { input: 1, output: 1, perRequest: 0.002 }).costMicros, 2_010);
  });

  it('rounds once at the end to an integer, with no floating-point drift', () => {
    // 3 × 0.15 + 7 × 0.075 + 3 × 0.6 = 0.45 + 0.525 + 1.8 = 2.775 µ$ → 3.
    const tiny = computeCostMicros({ inputTokens: 10, outputTokens: 3, cacheReadTokens: 7 }, { input: 0.15, output: 0.6, cacheRead: 0.075 });
    assert.deepEqual(tiny, { costMicros: 3, priceMissing: false });
    // 0.45 + 0.45 = 0.9 → 1, where rounding each part first would give 0.
    assert.equal(computeCostMicros({ inputTokens: 3, outputTokens: 3 }, { input: 0.15, output: 0.15 }).costMicros, 1);
    const big = computeCostMicros({ inputTokens: 123_457, outputTokens: 98_765, cacheReadTokens: 11_111 }, { input: 0.15, output: 0.6, cacheRead: 0.075 });
    // 112,346 × 0.15 + 11,111 × 0.075 + 98,765 × 0.6 = 16,851.9 + 833.325 + 59,259 = 76,944.225.
    assert.equal(big.costMicros, 76_944);
    assert.ok(Number.isInteger(big.costMicros));
  });

  it('costs nothing and flags priceMissing without a price, or for tokens of an unpriced kind', () => {
    assert.deepEqual(computeCostMicros({ inputTokens: 1_000, outputTokens: 1_000 }, undefined), { costMicros: 0, priceMissing: true });
    assert.deepEqual(computeCostMicros({ inputTokens: 1_000, outputTokens: 10 }, { input: 1 }), { costMicros: 1_000, priceMissing: true });
    assert.deepEqual(computeCostMicros({ inputTokens: 1_000, outputTokens: 0 }, { input: 1 }), { costMicros: 1_000, priceMissing: false });
  });
});

describe('price table', () => {
  it('is dated and matches dated snapshot names to their base model', () => {
    assert.match(PRICE_TABLE_DATE, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(lookupPrice('openai', 'gpt-4o-2024-08-06'), PRICE_TABLE.openai['gpt-4o']);
    assert.equal(lookupPrice('openai', 'gpt-4o-mini-2024-07-18'), PRICE_TABLE.openai['gpt-4o-mini']);
    assert.equal(lookupPrice('anthropic', 'claude-sonnet-4-5-20250929'), PRICE_TABLE.anthropic['claude-sonnet-4-5']);
    assert.equal(lookupPrice('anthropic', 'claude-3-7-sonnet-latest'), PRICE_TABLE.anthropic['claude-3-7-sonnet']);
    assert.equal(lookupPrice('openai', 'gpt-4o-unknown'), undefined);
    assert.equal(lookupPrice('openai-compatible', 'gpt-4o'), undefined);
  });

  it('prices the simulated models exactly as the simulator declares them', () => {
    for (const [name, model] of Object.entries(SIM_MODELS)) {
      const bundled = PRICE_TABLE.sim[name];
      assert.ok(bundled, `${name} has no bundled price`);
      assert.deepEqual({ ...bundled, cacheWrite: model.prices.cacheWrite ?? model.prices.input }, { ...model.prices, cacheWrite: model.prices.cacheWrite ?? model.prices.input });
    }
    assert.equal(lookupPrice('sim', 'sim-fast@503:times=2'), PRICE_TABLE.sim['sim-fast']);
  });
});

describe('pricesFor', () => {
  const config = loadConfig({ env: { OPENAI_API_KEY: 'sk-test-0000000000', BREAKWATER_UPSTREAM_LOCAL: 'http://127.0.0.1:9/v1' }, cwd: '/nonexistent' });

  it('uses the bundled table by provider kind and upstream model', () => {
    assert.deepEqual(pricesFor(config, { provider: 'openai', model: 'gpt-4.1-2025-04-14' }), PRICE_TABLE.openai['gpt-4.1']);
    assert.equal(pricesFor(config, { provider: 'local', model: 'llama3' }), undefined);
    assert.equal(pricesFor(config, { provider: 'nope', model: 'gpt-4o' }), undefined);
  });

  it('lets deployment prices override the table field by field', () => {
    const prices = pricesFor(config, { provider: 'openai', model: 'gpt-4o', prices: { output: 8, perRequest: 0.001 } });
    assert.deepEqual(prices, { ...PRICE_TABLE.openai['gpt-4o'], output: 8, perRequest: 0.001 });
    assert.deepEqual(pricesFor(config, { provider: 'local', model: 'llama3', prices: { input: 0, output: 0 } }), { input: 0, output: 0 });
  });
});
