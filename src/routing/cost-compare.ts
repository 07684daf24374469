/** Hours in an average month (365 × 24 ÷ 12). */
export const HOURS_PER_MONTH = 730;
const MONTH_MS = HOURS_PER_MONTH * 3_600_000;

/** A deployment's fixed monthly costs in USD (SPEC OW-2). */
export interface MonthlyCosts {
  gpu?: number | undefined;
  operations?: number | undefined;
  overhead?: number | undefined;
  power?: number | undefined;
}

/** What the ledger says about a period. */
export interface ObservedUsage {
  /** Period length, ms. */
  periodMs: number;
  /** Input + output tokens served in the period. */
  tokens: number;
  /** What the period cost through APIs, micro-USD. */
  apiCostMicros: number;
}

/** A self-hosting option. */
export interface SelfHostOption {
  gpus: number;
  usdPerGpuHour: number;
  /** Serving throughput of one GPU, tokens/s. */
  tokensPerSecond: number;
  /** Operations share added on top of the GPU rent (0.2 = +20 %). */
  operationsShare: number;
  /** Usable share of peak throughput: traffic is not flat (default 0.5). */
  targetUtilisation: number;
}

/** The comparison `breakwater cost compare` prints. */
export interface CostComparison {
  periodDays: number;
  tokensPerMonth: number;
  apiUsdPerMonth: number;
  /** API USD per 1M tokens at the observed mix. */
  apiUsdPerMillion: number;
  selfHostUsdPerMonth: number;
  /** Self-hosting USD per 1M tokens at the observed volume. */
  selfHostUsdPerMillion: number;
  /** Observed average tokens/s over the capacity of the option. */
  impliedUtilisation: number;
  /** Tokens/month the option can serve at its target utilisation. */
  capacityTokensPerMonth: number;
  /** Tokens/month at which self-hosting costs what the APIs cost; undefined without API spend. */
  breakEvenTokensPerMonth: number | undefined;
  /** GPUs needed for the observed volume at the target utilisation. */
  gpusNeeded: number;
  cheaper: 'api' | 'self-hosted';
}

/** Sum of a deployment's fixed monthly costs. */
export function monthlyTotal(costs: MonthlyCosts): number {
  return (costs.gpu ?? 0) + (costs.operations ?? 0) + (costs.overhead ?? 0) + (costs.power ?? 0);
}

/**
 * Effective USD per 1M tokens of a deployment with fixed monthly costs at the observed monthly
 * volume (SPEC OW-2): $1,440 + $3,000 + $1,000 + $500 at 100M tokens/month is $59.40.
 */
export function effectiveUsdPerMillion(costs: MonthlyCosts, tokensPerMonth: number): number | undefined {
  if (tokensPerMonth <= 0) return undefined;
  return monthlyTotal(costs) / (tokensPerMonth / 1_000_000);
}

/** API cost from the ledger against renting GPUs for the same traffic (SPEC OW-3). */
export function compareCosts(usage: ObservedUsage, option: SelfHostOption): CostComparison {
  const monthScale = MONTH_MS / usage.periodMs;
  const tokensPerMonth = usage.tokens * monthScale;
  const apiUsdPerMonth = (usage.apiCostMicros / 1_000_000) * monthScale;
  const selfHostUsdPerMonth = option.gpus * option.usdPerGpuHour * HOURS_PER_MONTH * (1 + option.operationsShare);
  const peakTokensPerMonth = option.gpus * option.tokensPerSecond * HOURS_PER_MONTH * 3600;
  const capacityTokensPerMonth = peakTokensPerMonth * option.targetUtilisation;
  const apiUsdPerToken = tokensPerMonth > 0 ? apiUsdPerMonth / tokensPerMonth : 0;
  const perMillion = (usd: number) => (tokensPerMonth > 0 ? usd / (tokensPerMonth / 1_000_000) : 0);
  const perGpuMonth = option.tokensPerSecond * HOURS_PER_MONTH * 3600 * option.targetUtilisation;
  return {
    periodDays: usage.periodMs / 86_400_000,
    tokensPerMonth,
    apiUsdPerMonth,
    apiUsdPerMillion: perMillion(apiUsdPerMonth),
    selfHostUsdPerMonth,
    selfHostUsdPerMillion: perMillion(selfHostUsdPerMonth),
    impliedUtilisation: peakTokensPerMonth > 0 ? tokensPerMonth / peakTokensPerMonth : 0,
    capacityTokensPerMonth,
    breakEvenTokensPerMonth: apiUsdPerToken > 0 ? selfHostUsdPerMonth / apiUsdPerToken : undefined,
    gpusNeeded: perGpuMonth > 0 ? Math.max(1, Math.ceil(tokensPerMonth / perGpuMonth)) : 1,
    cheaper: apiUsdPerMonth <= selfHostUsdPerMonth ? 'api' : 'self-hosted',
  };
}
