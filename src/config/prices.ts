import type { Usage } from '../core/types.js';
import { PRICE_TABLE, type PricedProviderKind } from './price-table.js';
import type { Config, DeploymentConfig, PriceConfig, ProviderConfig } from './schema.js';

export { PRICE_TABLE, PRICE_TABLE_DATE } from './price-table.js';

/** What a request cost, in integer micro-USD; `priceMissing` when some tokens had no price (SPEC PV-6). */
export interface RequestCost {
  costMicros: number;
  priceMissing: boolean;
}

// Snapshot ids (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`, `…-latest`) price as their base model.
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$/;

function isPricedKind(kind: string): kind is PricedProviderKind {
  return Object.hasOwn(PRICE_TABLE, kind);
}

/** The bundled price of an upstream model, matching dated snapshot names to their base model. */
export function lookupPrice(kind: ProviderConfig['kind'], model: string): PriceConfig | undefined {
  if (!isPricedKind(kind)) return undefined;
  const table = PRICE_TABLE[kind];
  // A simulated model may carry a fault suffix (`sim-fast@503`); it costs what the model costs.
  const name = kind === 'sim' ? model.split('@')[0] : model;
  if (Object.hasOwn(table, name)) return table[name];
  const base = name.replace(SNAPSHOT_SUFFIX, '');
  return Object.hasOwn(table, base) ? table[base] : undefined;
}

/** The prices of a deployment: its own `prices:` field by field over the bundled table. */
export function pricesFor(config: Config, deployment: Pick<DeploymentConfig, 'provider' | 'model' | 'prices'>): PriceConfig | undefined {
  const kind = Object.hasOwn(config.providers, deployment.provider) ? config.providers[deployment.provider].kind : undefined;
  const bundled = kind ? lookupPrice(kind, deployment.model) : undefined;
  if (!deployment.prices) return bundled;
  const own = Object.fromEntries(Object.entries(deployment.prices).filter(([, value]) => value !== undefined));
  return { ...bundled, ...own };
}

// Prices are USD per 1M tokens, i.e. micro-USD per token; scaled by 1e6 they are integer
// pico-USD per token, so sums are exact and only the final division rounds.
const PICO_PER_MICRO = 1_000_000;
const MICROS_PER_USD = 1_000_000;
const picoPerToken = (usdPerMillion: number) => Math.round(usdPerMillion * PICO_PER_MICRO);
const count = (tokens: number | undefined) => (Number.isFinite(tokens) && tokens! > 0 ? Math.floor(tokens!) : 0);

/**
 * The cost of one call. Cache reads and writes are parts of `inputTokens` and are charged at their
 * own prices (falling back to the input price), reasoning is part of `outputTokens` and is charged
 * at the output price unless priced; a per-request fee is added. Unknown prices cost 0 and set
 * `priceMissing`.
 */
export function computeCostMicros(usage: Usage, prices: PriceConfig | undefined): RequestCost {
  if (!prices) return { costMicros: 0, priceMissing: true };
  const input = count(usage.inputTokens);
  const output = count(usage.outputTokens);
  const cacheRead = Math.min(count(usage.cacheReadTokens), input);
  const cacheWrite = Math.min(count(usage.cacheWriteTokens), input - cacheRead);
  const reasoning = Math.min(count(usage.reasoningTokens), output);
  let priceMissing = false;
  const charge = (tokens: number, usdPerMillion: number | undefined): number => {
    if (tokens === 0) return 0;
    if (usdPerMillion === undefined) {
      priceMissing = true;
      return 0;
    }
    return tokens * picoPerToken(usdPerMillion);
  };
  const pico =
    charge(input - cacheRead - cacheWrite, prices.input) +
    charge(cacheRead, prices.cacheRead ?? prices.input) +
    charge(cacheWrite, prices.cacheWrite ?? prices.input) +
    charge(output - reasoning, prices.output) +
    charge(reasoning, prices.reasoning ?? prices.output);
  const fee = prices.perRequest === undefined ? 0 : Math.round(prices.perRequest * MICROS_PER_USD);
  return { costMicros: Math.round(pico / PICO_PER_MICRO) + fee, priceMissing };
}
