import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';

/** `breakwater sim serve`: the simulated provider over HTTP in the OpenAI and Anthropic formats. */
export function registerSimCommand(program: Command): void {
  const sim = program.command('sim').description('the simulated provider');
  sim
    .command('serve')
    .description('serve sim models over HTTP (OpenAI and Anthropic wire formats, /_sim/journal)')
    .option('-p, --port <port>', 'port (0 = any free port)', '8401')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--seed <n>', 'seed for content, timing and probabilistic faults', '42')
    .option('--time-scale <x>', 'multiply simulated latencies (0 = instant)', '1')
    .option('--cassette <dir>', 'replay a recorded cassette (breakwater record) instead of simulating; unrecorded requests get 404')
    .option('--json', 'print the ready event as JSON on stdout')
    .action(async (options: { port: string; host: string; seed: string; timeScale: string; cassette?: string; json?: boolean }) => {
      const { startSimServer } = await import('../sim/sim-server.js');
      const { startReplayer } = await import('../simulation/cassette-servers.js');
      const settings = { port: Number(options.port), host: options.host, timeScale: Number(options.timeScale) };
      const server = options.cassette ? await startReplayer({ ...settings, cassette: options.cassette }) : await startSimServer({ ...settings, seed: Number(options.seed) });
      if (options.json) process.stdout.write(JSON.stringify({ event: 'ready', url: server.url, port: server.port }) + '\n');
      else process.stderr.write(`sim serving on ${server.url} (OpenAI: ${server.url}/v1, Anthropic: ${server.url})\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
  registerSimRun(sim);
}

function progress(scenario: string, done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 24;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} ${scenario}`.padEnd(70) + (done === total ? '\n' : ''));
}

/** `breakwater sim run`: scenarios as reliability numbers, and the worker process crash trials spawn. */
function registerSimRun(sim: Command): void {
  sim
    .command('run')
    .description('run scenario files: pass^1…pass^k with 95% intervals, failure classes, cost and steps (exit 1 below thresholds)')
    .argument('<scenarios...>', 'scenario YAML files')
    .option('--trials <n>', 'trials per scenario (default: each scenario\'s trials)')
    .option('--seed <n>', 'seed: the same seed replays the same trials', '42')
    .option('--k <n>', 'largest k of pass^k', '4')
    .option('--json', 'print the report as JSON on stdout')
    .option('--junit <file>', 'also write a JUnit XML report')
    .option('--gateway <url>', 'send the agents\' model calls through this running Breakwater gateway (any provider it fronts)')
    .option('--gateway-key-env <name>', 'the environment variable holding a virtual key of that gateway', 'BREAKWATER_API_KEY')
    .option('--model <name>', 'with --gateway: the public model name every call goes to')
    .action(async (files: string[], options: { trials?: string; seed: string; k: string; json?: boolean; junit?: string; gateway?: string; gatewayKeyEnv: string; model?: string }) => {
      const { runScenarios } = await import('../simulation/run-scenarios.js');
      const { gatewayFromFlags } = await import('../simulation/gateway-option.js');
      const gateway = gatewayFromFlags(options);
      const { formatJunit, formatReport } = await import('../simulation/sim-report.js');
      const reports = await runScenarios(files, {
        trials: options.trials === undefined ? undefined : Number(options.trials),
        seed: Number(options.seed),
        maxK: Number(options.k),
        cli: process.argv[1]!,
        gateway,
        onTrial: (scenario, _result, done, total) => progress(scenario, done, total),
      });
      if (options.junit) writeFileSync(options.junit, formatJunit(reports));
      process.stdout.write(options.json ? JSON.stringify({ seed: Number(options.seed), scenarios: reports }, null, 2) + '\n' : formatReport(reports));
      process.exitCode = reports.some((r) => r.belowThreshold.length > 0) ? 1 : 0;
    });
  sim
    .command('worker', { hidden: true })
    .requiredOption('--scenario <file>')
    .requiredOption('--world <file>')
    .requiredOption('--data-dir <dir>')
    .option('--seed <n>', '', '42')
    .option('--export <name>')
    .action(async (options: { scenario: string; world: string; dataDir: string; seed: string; export?: string }) => {
      const { startSimWorker } = await import('../simulation/sim-worker-process.js');
      const worker = await startSimWorker({ ...options, seed: Number(options.seed) });
      process.stdout.write(JSON.stringify({ event: 'ready', pid: process.pid }) + '\n');
      process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
    });
}
