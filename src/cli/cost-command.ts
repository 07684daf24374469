import type { Command } from 'commander';
import type { CommonOptions } from './common-options.js';
import { printTable } from './output.js';
import { common, withTenancy } from './tenants-command.js';

interface CompareOptions extends CommonOptions {
  since: string;
  gpu: string;
  gpus: string;
  gpuPrice?: string;
  tokensPerS?: string;
  opsShare: string;
  utilisation: string;
  json?: boolean;
}

function positive(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0) throw new Error(`${flag} must be a non-negative number, not '${value}'`);
  return number;
}

/**
 * `breakwater cost compare --since 30d` (SPEC OW-3): API cost from the ledger against renting
 * GPUs for the same traffic, the break-even volume, and the effective price of self-hosted
 * deployments that declare fixed monthly costs (OW-2).
 */
export function registerCostCommand(program: Command): void {
  const cost = program.command('cost').description('cost reports from the ledger');
  common(cost.command('compare').description('API spend vs self-hosting the same traffic, with the break-even volume'))
    .option('--since <when>', 'start: 30d, 24h, an ISO date or epoch ms', '30d')
    .option('--gpu <id>', 'a GPU of the shipped table (h100-sxm, a100-sxm, a100-pcie, l40s)', 'h100-sxm')
    .option('--gpus <n>', 'GPUs rented', '1')
    .option('--gpu-price <usd>', 'USD per GPU-hour, instead of the table')
    .option('--tokens-per-s <n>', 'tokens/s one GPU serves, instead of the table (measure your model)')
    .option('--ops-share <x>', 'operations cost as a share of the GPU rent', '0.2')
    .option('--utilisation <x>', 'usable share of peak throughput', '0.5')
    .action(async (options: CompareOptions) => {
      const [{ parseTime }, { compareCosts, effectiveUsdPerMillion, monthlyTotal }, { gpuFigures, GPU_TABLE_DATE }] = await Promise.all([
        import('../tenancy/usage-report.js'),
        import('../routing/cost-compare.js'),
        import('../routing/gpu-table.js'),
      ]);
      const now = Date.now();
      const since = parseTime(options.since, now);
      const gpu = gpuFigures(options.gpu);
      const option = {
        gpus: Math.max(1, Math.round(positive(options.gpus, '--gpus'))),
        usdPerGpuHour: options.gpuPrice === undefined ? gpu.usdPerHour : positive(options.gpuPrice, '--gpu-price'),
        tokensPerSecond: options.tokensPerS === undefined ? gpu.tokensPerSecond : positive(options.tokensPerS, '--tokens-per-s'),
        operationsShare: positive(options.opsShare, '--ops-share'),
        targetUtilisation: Math.min(1, positive(options.utilisation, '--utilisation')) || 0.5,
      };
      const { comparison, selfHosted } = await withTenancy(options, async ({ config, stores }) => {
        const records = await stores.ledger.listRequests({ since, limit: Number.MAX_SAFE_INTEGER });
        let tokens = 0;
        let apiCostMicros = 0;
        const byProvider = new Map<string, number>();
        for (const record of records) {
          if (record.status !== 200) continue;
          const used = record.inputTokens + record.outputTokens;
          const provider = record.provider ?? '';
          if (config.providers[provider]?.monthlyCosts) {
            byProvider.set(provider, (byProvider.get(provider) ?? 0) + used);
            continue;
          }
          tokens += used;
          apiCostMicros += record.costMicros;
        }
        const monthScale = (730 * 3_600_000) / Math.max(1, now - since);
        const selfHosted = [...byProvider].map(([provider, used]) => {
          const costs = config.providers[provider]!.monthlyCosts!;
          const perMonth = used * monthScale;
          return { provider, monthly_usd: monthlyTotal(costs), tokens_per_month: Math.round(perMonth), usd_per_1m_tokens: effectiveUsdPerMillion(costs, perMonth) };
        });
        return { comparison: compareCosts({ periodMs: Math.max(1, now - since), tokens, apiCostMicros }, option), selfHosted };
      });
      if (options.json) {
        process.stdout.write(JSON.stringify({ gpu: { ...gpu, tableDate: GPU_TABLE_DATE }, option, comparison, selfHosted }) + '\n');
        return;
      }
      const usd = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2));
      const millions = (value: number | undefined) => (value === undefined ? '-' : (value / 1e6).toFixed(1));
      process.stdout.write(`API traffic over ${comparison.periodDays.toFixed(1)} days, scaled to a month; ${option.gpus} × ${gpu.name} at $${option.usdPerGpuHour}/h, ${option.tokensPerSecond} tokens/s each (GPU table of ${GPU_TABLE_DATE})\n`);
      printTable(
        [
          { figure: 'tokens / month (M)', value: millions(comparison.tokensPerMonth) },
          { figure: 'API USD / month', value: usd(comparison.apiUsdPerMonth) },
          { figure: 'API USD / 1M tokens', value: usd(comparison.apiUsdPerMillion) },
          { figure: 'self-hosted USD / month', value: usd(comparison.selfHostUsdPerMonth) },
          { figure: 'self-hosted USD / 1M tokens at this volume', value: usd(comparison.selfHostUsdPerMillion) },
          { figure: 'implied utilisation', value: `${(comparison.impliedUtilisation * 100).toFixed(2)} %` },
          { figure: 'GPUs needed at target utilisation', value: String(comparison.gpusNeeded) },
          { figure: 'break-even tokens / month (M)', value: millions(comparison.breakEvenTokensPerMonth) },
          { figure: 'cheaper now', value: comparison.cheaper },
        ],
        ['figure', 'value'],
      );
      if (selfHosted.length > 0) printTable(selfHosted.map((row) => ({ ...row, usd_per_1m_tokens: usd(row.usd_per_1m_tokens) })), ['provider', 'monthly_usd', 'tokens_per_month', 'usd_per_1m_tokens']);
    });
}
