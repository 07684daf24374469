import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { configOverridesFrom, type CommonOptions } from './common-options.js';
import { registerDoctorStreamCommand } from './doctor-stream-command.js';

/** One doctor finding. */
interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

async function checkStore(config: Config): Promise<Check> {
  try {
    const { openStores } = await import('../store/stores.js');
    const stores = await openStores(config, { dataDir: resolve(config.server.dataDir) });
    await stores.ping();
    await stores.close();
    return { check: 'store', ok: true, detail: `${config.store.kind} ready, migrations applied` };
  } catch (error) {
    return { check: 'store', ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

async function checkProviders(config: Config, timeoutMs: number): Promise<Check[]> {
  const [{ systemClock }, { createProviderRegistry }] = await Promise.all([import('../core/clock.js'), import('../gateway/provider-registry.js')]);
  const registry = await createProviderRegistry(config, systemClock);
  try {
    return await Promise.all(
      Object.keys(config.providers).map(async (name): Promise<Check> => {
        const adapter = registry.adapter(name);
        if (!adapter?.listModels) return { check: `provider ${name}`, ok: true, detail: 'configured (no model listing to probe)' };
        const started = performance.now();
        try {
          const models = await adapter.listModels({ signal: AbortSignal.timeout(timeoutMs) });
          return { check: `provider ${name}`, ok: true, detail: `reachable in ${(performance.now() - started).toFixed(0)} ms, ${models.length} models` };
        } catch (error) {
          return { check: `provider ${name}`, ok: false, detail: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
  } finally {
    await registry.close();
  }
}

/** `breakwater doctor`: config, store and provider reachability, as a table or JSON. */
export function registerDoctorCommand(program: Command): void {
  const doctor = program
    .command('doctor')
    .description('check the config, the store and that each provider answers')
    .option('-c, --config <file>', 'config file')
    .option('--data-dir <dir>', 'state directory')
    .option('--timeout-ms <ms>', 'per-provider probe timeout', '5000')
    .option('--json', 'machine-readable output')
    .action(async (options: CommonOptions & { timeoutMs: string; json?: boolean }) => {
      // Imported on use so the other commands load none of this.
      const { loadConfig } = await import('../config/load-config.js');
      const checks: Check[] = [];
      let config: Config;
      try {
        config = loadConfig({ path: options.config, overrides: configOverridesFrom(options) });
        checks.push({ check: 'config', ok: true, detail: `${Object.keys(config.providers).length} providers, ${Object.keys(config.models).length} model aliases` });
      } catch (error) {
        checks.push({ check: 'config', ok: false, detail: error instanceof Error ? error.message : String(error) });
        return report(checks, Boolean(options.json));
      }
      checks.push(await checkStore(config));
      checks.push(...(await checkProviders(config, Number(options.timeoutMs))));
      report(checks, Boolean(options.json));
    });
  registerDoctorStreamCommand(doctor);
}

function report(checks: Check[], json: boolean): void {
  if (json) process.stdout.write(JSON.stringify({ ok: checks.every((c) => c.ok), checks }) + '\n');
  else for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.check}: ${c.detail}\n`);
  if (!checks.every((c) => c.ok)) process.exitCode = 1;
}
