import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { Stores } from '../store/interfaces.js';
import { configOverridesFrom, type CommonOptions } from './common-options.js';

async function withStores<T>(options: CommonOptions, run: (stores: Stores) => Promise<T>): Promise<T> {
  const [{ loadConfig }, { openStores }] = await Promise.all([import('../config/load-config.js'), import('../store/stores.js')]);
  const config = loadConfig({ path: options.config, overrides: configOverridesFrom(options) });
  const stores = await openStores(config, { dataDir: resolve(config.server.dataDir) });
  try {
    return await run(stores);
  } finally {
    await stores.close();
  }
}

const DAY_MS = 86_400_000;

/** `breakwater runs show|prune`: an operator's view of the run store (SPEC LR-14). */
export function registerRunsCommand(program: Command): void {
  const runs = program.command('runs').description('inspect and prune durable agent runs');
  runs
    .command('show <id>')
    .description('print a run with its step journal and effect ledger as JSON')
    .option('-c, --config <file>', 'config file')
    .option('--data-dir <dir>', 'where state lives (default .breakwater)')
    .action(async (id: string, options: CommonOptions) => {
      const { runView } = await import('../runs/run-service.js');
      await withStores(options, async (stores) => {
        const run = await stores.runs.getRun(id);
        if (!run) {
          process.stderr.write(`no run with id ${id}\n`);
          process.exitCode = 1;
          return;
        }
        const [steps, effects] = await Promise.all([stores.runs.listSteps(id), stores.runs.listEffects(id)]);
        process.stdout.write(JSON.stringify({ ...runView(run), tenant: run.tenant, epoch: run.epoch, owner: run.owner ?? null, steps_journal: steps, effects }, null, 2) + '\n');
      });
    });
  runs
    .command('prune')
    .description('delete runs that ended more than --older-than days ago (default 30)')
    .option('--older-than <days>', 'age in days', '30')
    .option('-c, --config <file>', 'config file')
    .option('--data-dir <dir>', 'where state lives (default .breakwater)')
    .action(async (options: CommonOptions & { olderThan: string }) => {
      const days = Number(options.olderThan);
      if (!(days >= 0)) throw new Error('--older-than must be a number of days');
      await withStores(options, async (stores) => {
        const now = Date.now();
        const pruned = await stores.runs.pruneRuns(now - days * DAY_MS);
        const events = await stores.events.purgeExpired(now);
        process.stdout.write(`pruned ${pruned} runs and ${events} expired event streams\n`);
      });
    });
}
