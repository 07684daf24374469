import type { Command } from 'commander';

function parseHeaders(values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((value) => [value.slice(0, value.indexOf(':')).trim().toLowerCase(), value.slice(value.indexOf(':') + 1).trim()]));
}

/** `breakwater record`: cassettes of real provider traffic, and their drift check (SPEC SIM-16). */
export function registerRecordCommand(program: Command): void {
  const record = program
    .command('record')
    .description('proxy to a provider and write what it answers to a cassette (point a provider baseUrl at it)')
    .option('--out <dir>', 'cassette directory')
    .option('--upstream <url>', 'the provider to record, e.g. https://api.openai.com')
    .option('-p, --port <port>', 'port (0 = any free port)', '8402')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--json', 'print the ready event as JSON on stdout')
    .action(async (options: { out?: string; upstream?: string; port: string; host: string; json?: boolean }) => {
      if (!options.out || !options.upstream) throw new Error('record needs --out DIR and --upstream URL');
      const { startRecorder } = await import('../simulation/cassette-servers.js');
      const server = await startRecorder({ out: options.out, upstream: options.upstream, port: Number(options.port), host: options.host });
      if (options.json) process.stdout.write(JSON.stringify({ event: 'ready', url: server.url, port: server.port }) + '\n');
      else process.stderr.write(`recording ${options.upstream} into ${options.out}: set the provider's baseUrl to ${server.url}\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
  record
    .command('verify')
    .description('send every recorded request to the live provider and report where answers changed shape (exit 1 on drift)')
    .requiredOption('--cassette <dir>', 'cassette directory')
    .requiredOption('--upstream <url>', 'the live provider')
    .option('-H, --header <name:value...>', 'headers for the live calls (e.g. authorization)', [])
    .option('--json', 'print the drift report as JSON')
    .action(async (options: { cassette: string; upstream: string; header: string[]; json?: boolean }) => {
      const { checkDrift } = await import('../simulation/cassette-drift.js');
      const drifts = await checkDrift(options.cassette, options.upstream, parseHeaders(options.header));
      if (options.json) process.stdout.write(JSON.stringify({ drifts }, null, 2) + '\n');
      else if (drifts.length === 0) process.stdout.write('no drift: every live answer has its recorded shape\n');
      else for (const drift of drifts) process.stdout.write(`${drift.request} (${drift.key}):\n${drift.differences.map((d) => `  ${d}`).join('\n')}\n`);
      process.exitCode = drifts.length > 0 ? 1 : 0;
    });
}
