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
    .option('--json', 'print the ready event as JSON on stdout')
    .action(async (options: { port: string; host: string; seed: string; timeScale: string; json?: boolean }) => {
      const { startSimServer } = await import('../sim/sim-server.js');
      const server = await startSimServer({
        port: Number(options.port),
        host: options.host,
        seed: Number(options.seed),
        timeScale: Number(options.timeScale),
      });
      if (options.json) process.stdout.write(JSON.stringify({ event: 'ready', url: server.url, port: server.port }) + '\n');
      else process.stderr.write(`sim serving on ${server.url} (OpenAI: ${server.url}/v1, Anthropic: ${server.url})\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
