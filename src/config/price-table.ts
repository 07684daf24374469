import type { PriceConfig } from './schema.js';

/**
 * When the list prices below were last checked against the providers' published pricing (and
 * several independent price trackers where the two disagreed on naming). Prices change: deployment
 * `prices:` in breakwater.yaml override any entry.
 */
export const PRICE_TABLE_DATE = '2026-11-27';

/** Provider kinds that have bundled prices. */
export type PricedProviderKind = 'openai' | 'anthropic' | 'sim';

const price = (input: number, output: number, cacheRead: number, cacheWrite = input): Readonly<PriceConfig> =>
  Object.freeze({ input, output, cacheRead, cacheWrite });

// OpenAI charges nothing extra to write its prompt cache, so cacheWrite defaults to the input price.
const OPENAI: Record<string, Readonly<PriceConfig>> = {
  'gpt-5.4': price(2.5, 15, 0.25),
  'gpt-5.4-mini': price(0.75, 4.5, 0.075),
  'gpt-5.4-nano': price(0.2, 1.25, 0.02),
  'gpt-5': price(1.25, 10, 0.125),
  'gpt-5-mini': price(0.25, 2, 0.025),
  'gpt-5-nano': price(0.05, 0.4, 0.005),
  'gpt-4.1': price(2, 8, 0.5),
  'gpt-4.1-mini': price(0.4, 1.6, 0.1),
  'gpt-4.1-nano': price(0.1, 0.4, 0.025),
  'gpt-4o': price(2.5, 10, 1.25),
  'gpt-4o-mini': price(0.15, 0.6, 0.075),
  o3: price(2, 8, 0.5),
  'o3-mini': price(1.1, 4.4, 0.55),
  'o4-mini': price(1.1, 4.4, 0.275),
  'text-embedding-3-small': price(0.02, 0, 0.02),
  'text-embedding-3-large': price(0.13, 0, 0.13),
};

// Anthropic cache writes are the 5-minute tier (1.25× input); 1-hour writes cost 2× and need a
// deployment override. Sonnet's > 200K-token long-context surcharge is not modelled.
const SONNET = price(3, 15, 0.3, 3.75);
const OPUS_4 = price(15, 75, 1.5, 18.75);
const OPUS_45 = price(5, 25, 0.5, 6.25);
const ANTHROPIC: Record<string, Readonly<PriceConfig>> = {
  'claude-opus-4-6': OPUS_45,
  'claude-opus-4-5': OPUS_45,
  'claude-opus-4-1': OPUS_4,
  'claude-opus-4-0': OPUS_4,
  'claude-opus-4': OPUS_4,
  'claude-sonnet-4-6': SONNET,
  'claude-sonnet-4-5': SONNET,
  'claude-sonnet-4-0': SONNET,
  'claude-sonnet-4': SONNET,
  'claude-3-7-sonnet': SONNET,
  'claude-haiku-4-5': price(1, 5, 0.1, 1.25),
  'claude-3-5-haiku': price(0.8, 4, 0.08, 1),
};

// Mirrors src/sim/sim-models.ts (test/prices.test.ts checks they agree): real tiers, so cost
// reports and budgets behave in the sandbox as they would in production.
const SIM: Record<string, Readonly<PriceConfig>> = {
  'sim-fast': price(0.15, 0.6, 0.075),
  'sim-smart': price(2.5, 10, 1.25, 3.125),
  'sim-reasoning': price(1.1, 4.4, 0.275),
  'sim-embed': price(0.02, 0, 0),
  'sim-slow': price(0.5, 1.5, 0.25),
};

/** USD per 1M tokens by provider kind and upstream model name, without date suffixes (SPEC PV-6). */
export const PRICE_TABLE: Readonly<Record<PricedProviderKind, Readonly<Record<string, Readonly<PriceConfig>>>>> = Object.freeze({
  openai: Object.freeze(OPENAI),
  anthropic: Object.freeze(ANTHROPIC),
  sim: Object.freeze(SIM),
});
