import type { Command } from 'commander';
import { common, withTenancy } from './tenants-command.js';
import type { CommonOptions } from './common-options.js';
import { printTable } from './output.js';

/** `breakwater usage --by team,model --since 7d --format table|csv|json` (SPEC MT-2). */
export function registerUsageCommand(program: Command): void {
  const usage = common(program.command('usage').description('spend and tokens from the ledger, grouped (org, team, user, key, model, served_model, provider, route, lane, end_user, status, tag:<name>)'))
    .option('--by <dims>', 'comma-separated dimensions to group by', 'team,model')
    .option('--since <when>', 'start: 7d, 24h, 30m, an ISO date or epoch ms', '7d')
    .option('--until <when>', 'end (exclusive); default now')
    .option('--format <format>', 'table, csv or json', 'table')
    .action(async (options: CommonOptions & { by: string; since: string; until?: string; format: string; json?: boolean }) => {
      const format = options.json ? 'json' : options.format;
      if (!['table', 'csv', 'json'].includes(format)) throw new Error(`--format must be table, csv or json, not '${format}'`);
      const [{ parseUsageDimensions }, { parseTime, usageLines, usageCsv, usageColumns }] = await Promise.all([import('../store/usage-query.js'), import('../tenancy/usage-report.js')]);
      const groupBy = parseUsageDimensions(options.by);
      const now = Date.now();
      const since = parseTime(options.since, now);
      const until = options.until === undefined ? undefined : parseTime(options.until, now);
      const lines = await withTenancy(options, async ({ stores }) => usageLines(await stores.ledger.usage({ since, until, groupBy }), await stores.principals.listPrincipals()));
      const columns = usageColumns(groupBy);
      if (format === 'json') process.stdout.write(JSON.stringify(lines) + '\n');
      else if (format === 'csv') process.stdout.write(usageCsv(lines, columns));
      else printTable(lines, columns);
    });
  registerSavingsCommand(usage);
}

/** `breakwater usage savings --since 7d`: actual cost vs all-strong per routing rule (SPEC RT-6). */
function registerSavingsCommand(usage: Command): void {
  common(usage.command('savings').description('routing savings per rule: actual cost vs sending every request to the strong tier'))
    .option('--since <when>', 'start: 7d, 24h, 30m, an ISO date or epoch ms', '7d')
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: CommonOptions & { since: string; format: string; json?: boolean }) => {
      const [{ parseTime }, { savingsReport }] = await Promise.all([import('../tenancy/usage-report.js'), import('../routing/savings-report.js')]);
      const since = parseTime(options.since, Date.now());
      const rows = await withTenancy(options, async ({ stores }) => savingsReport(await stores.ledger.listRequests({ since, limit: Number.MAX_SAFE_INTEGER })));
      if (options.json || options.format === 'json') {
        process.stdout.write(JSON.stringify(rows) + '\n');
        return;
      }
      const usd = (micros: number) => (micros / 1_000_000).toFixed(6);
      const lines = rows.map((row) => ({
        rule: row.rule,
        requests: row.requests,
        actual_usd: usd(row.actualMicros),
        all_strong_usd: usd(row.allStrongMicros),
        saved_usd: usd(row.savedMicros),
        saved: `${(row.savedShare * 100).toFixed(1)} %`,
        escalation: `${(row.escalationRate * 100).toFixed(1)} %`,
        shadow_usd: usd(row.shadowMicros),
        agreement: row.agreement === undefined ? '' : `${(row.agreement * 100).toFixed(1)} %`,
      }));
      printTable(lines, ['rule', 'requests', 'actual_usd', 'all_strong_usd', 'saved_usd', 'saved', 'escalation', 'shadow_usd', 'agreement']);
    });
}
