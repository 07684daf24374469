import type { Command } from 'commander';
import { configOverridesFrom, type CommonOptions } from './common-options.js';

/** Options of `breakwater start`. */
interface StartCommandOptions extends CommonOptions {
  port?: string;
  host?: string;
  json?: boolean;
  workers?: string;
  agents?: string;
}

function printBanner(url: string, readyMs: number, keys: { adminKey?: string | undefined; virtualKey?: string | undefined }, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ event: 'ready', url, readyMs, ...keys }) + '\n');
    return;
  }
  const lines = [`Breakwater listening on ${url} (ready in ${readyMs.toFixed(0)} ms)`];
  if (keys.virtualKey || keys.adminKey) {
    lines.push('', 'First start: these keys are shown once. Store them now.');
    if (keys.virtualKey) lines.push(`  virtual key: ${keys.virtualKey}`);
    if (keys.adminKey) lines.push(`  admin key:   ${keys.adminKey}`);
    const key = keys.virtualKey ?? 'bw_…';
    lines.push(
      '',
      'Try it:',
      `  curl ${url}/v1/chat/completions -H "Authorization: Bearer ${key}" \\`,
      `    -H "content-type: application/json" -d '{"model":"sim-fast","messages":[{"role":"user","content":"Hello"}]}'`,
    );
  }
  process.stderr.write(lines.join('\n') + '\n\n');
}

/** `breakwater start`: serves the gateway until SIGTERM/SIGINT, then drains and exits 0. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the gateway (port 8400, SQLite in .breakwater/, simulated models)')
    .option('-c, --config <file>', 'config file (default: ./breakwater.yaml when present)')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)')
    .option('--host <host>', 'address to bind')
    .option('--data-dir <dir>', 'where state lives (default .breakwater)')
    .option('--json', 'print the ready event as JSON on stdout')
    .option('--workers <n>', 'processes sharing the port (node:cluster); more than one needs shared.redis')
    .option('--agents <module>', 'host workers for the agents this module exports')
    .action(async (options: StartCommandOptions) => {
      const overrides = configOverridesFrom(options);
      if (options.agents !== undefined) overrides.runs = { agents: options.agents };
      if (options.port !== undefined) (overrides.server ??= {}).port = Number(options.port);
      if (options.host !== undefined) (overrides.server ??= {}).host = options.host;
      const workers = options.workers === undefined ? 1 : Number(options.workers);
      if (!Number.isInteger(workers) || workers < 1) throw new Error('--workers must be a positive integer');
      if (workers > 1) {
        const [{ loadConfig }, cluster] = await Promise.all([import('../config/load-config.js'), import('./start-workers.js')]);
        if (!cluster.isWorker()) {
          cluster.checkSharedForWorkers(loadConfig({ path: options.config, overrides }), workers);
          const ready = await cluster.runWorkerPrimary(workers);
          printBanner(ready.url, performance.now(), { adminKey: ready.adminKey, virtualKey: ready.virtualKey }, Boolean(options.json));
          return;
        }
      }
      // Loaded here, not at the top, so other commands never load the server.
      const [{ startBreakwater }, { config: configureZod }] = await Promise.all([import('../server/start-breakwater.js'), import('zod')]);
      // zod only parses the config, once per start or reload: compiling a fast parser with
      // new Function costs more than that one parse saves (~10 ms of a ~180 ms start).
      configureZod({ jitless: true });
      const app = await startBreakwater({ configPath: options.config, overrides });
      // performance.now() counts from process start, so this includes module loading.
      const readyMs = performance.now();
      if (workers > 1) (await import('./start-workers.js')).reportWorkerReady({ event: 'worker-ready', url: app.url, ...app.bootstrapKeys });
      else printBanner(app.url, readyMs, app.bootstrapKeys, Boolean(options.json));
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        app.logger.info({ signal }, 'draining');
        app.close().then(
          () => process.exit(0),
          (error: unknown) => {
            app.logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
