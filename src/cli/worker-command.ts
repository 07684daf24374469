import type { Command } from 'commander';
import { configOverridesFrom, type CommonOptions } from './common-options.js';

/** Options of `breakwater worker`. */
interface WorkerCommandOptions extends CommonOptions {
  agents?: string;
  json?: boolean;
}

/** `breakwater worker --agents ./agents.js`: executes runs from the shared store, no HTTP (SPEC LR-10). */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run agent workers without the HTTP server (claims runs from the shared store)')
    .option('-c, --config <file>', 'config file (default: ./breakwater.yaml when present)')
    .option('--data-dir <dir>', 'where state lives (default .breakwater)')
    .option('--agents <module>', 'module exporting agents (defineAgent)')
    .option('--json', 'print the ready event as JSON on stdout')
    .action(async (options: WorkerCommandOptions) => {
      const overrides = configOverridesFrom(options);
      if (options.agents !== undefined) overrides.runs = { agents: options.agents };
      const [{ startWorker }, { createLogger }, { loadConfig }] = await Promise.all([
        import('../runs/start-worker.js'),
        import('../server/start-breakwater.js'),
        import('../config/load-config.js'),
      ]);
      const config = loadConfig({ path: options.config, overrides });
      const logger = createLogger(config.server.logLevel);
      const worker = await startWorker({ config, logger });
      const ready = { event: 'ready', worker: worker.runtime.worker!.owner, agents: worker.runtime.agents.names, readyMs: performance.now() };
      if (options.json) process.stdout.write(JSON.stringify(ready) + '\n');
      else process.stderr.write(`Breakwater worker ${ready.worker} hosting ${ready.agents.join(', ')}\n`);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        worker.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'worker shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
