#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { registerConfigCommand } from './config-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerKeysCommand } from './keys-command.js';
import { registerRecordCommand } from './record-command.js';
import { registerRouteCommand } from './route-command.js';
import { registerRunsCommand } from './runs-command.js';
import { registerSimCommand } from './sim-command.js';
import { registerStartCommand } from './start-command.js';
import { registerTenantsCommand } from './tenants-command.js';
import { registerTopCommand } from './top-command.js';
import { registerUsageCommand } from './usage-command.js';
import { registerCostCommand } from './cost-command.js';
import { registerWorkerCommand } from './worker-command.js';

const program = new Command('breakwater')
  .description('An LLM gateway, durable agent runtime and simulation sandbox')
  .version('0.1.0')
  .showHelpAfterError()
  // A command's options stay its own: `doctor --json` and `doctor stream --json` must not collide.
  .enablePositionalOptions();

registerStartCommand(program);
// `start` is on the path to ready (SPEC PERF-3): it skips building the other commands' options.
if (process.argv[2] !== 'start') {
  registerSimCommand(program);
  registerKeysCommand(program);
  registerTenantsCommand(program);
  registerUsageCommand(program);
  registerCostCommand(program);
  registerDoctorCommand(program);
  registerConfigCommand(program);
  registerRouteCommand(program);
  registerTopCommand(program);
  registerWorkerCommand(program);
  registerRunsCommand(program);
  registerRecordCommand(program);
}

function fail(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof CommanderError) process.exit(error.exitCode);
  process.stderr.write(`breakwater: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

// No top-level await: the production bundle is CommonJS so V8 can reuse its code cache
// (scripts/build-bundle.mjs), and CommonJS has none.
program.parseAsync(process.argv).catch(fail);
