import type { Command } from 'commander';
import { common, withTenancy } from './tenants-command.js';
import type { CommonOptions } from './common-options.js';
import { printTable } from './output.js';

/** `breakwater usage --by team,model --since 7d --format table|csv|json` (SPEC MT-2). */
export function registerUsageCommand(program: Command): void {
  common(program.command('usage').description('spend and tokens from the ledger, grouped (org, team, user, key, model, served_model, provider, route, lane, end_user, status, tag:<name>)'))
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
}
