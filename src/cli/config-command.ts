import type { Command } from 'commander';
import { configOverridesFrom, type CommonOptions } from './common-options.js';

/** `breakwater config check`: validates the config (exit 2 with path, line and fix when invalid). */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate breakwater.yaml and the environment; print the effective config with secrets masked')
    .option('-c, --config <file>', 'config file')
    .option('--json', 'print the effective config as JSON')
    .action(async (options: CommonOptions & { json?: boolean }) => {
      const { loadConfig, redactConfig } = await import('../config/load-config.js');
      const effective = loadConfig({ path: options.config, overrides: configOverridesFrom(options) });
      if (options.json) process.stdout.write(JSON.stringify(redactConfig(effective)) + '\n');
      else process.stdout.write(`config ok: ${Object.keys(effective.providers).join(', ')} providers; models: ${Object.keys(effective.models).join(', ')}\n`);
    });
}
