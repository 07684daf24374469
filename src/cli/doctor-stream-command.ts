import type { Command } from 'commander';

interface DoctorStreamOptions {
  key?: string;
  model: string;
  tokens: string;
  timeoutMs: string;
  json?: boolean;
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : `${Math.round(value)} ms`;
}

/**
 * `breakwater doctor stream <base-url>` (SPEC SA-3): streams one answer through whatever fronts
 * the gateway and tells from event arrival times whether tokens come incrementally or buffered.
 */
export function registerDoctorStreamCommand(doctor: Command): void {
  // `doctor` has its own --json and --timeout-ms: stop it from taking them past the subcommand.
  doctor.enablePositionalOptions();
  doctor
    .command('stream <base-url>')
    .description('check that a streamed answer arrives token by token through the proxies in front of the gateway')
    .option('--key <key>', 'virtual key (default: $BREAKWATER_API_KEY)')
    // sim-fast at its real timing spreads ~150 tokens over ~1.4 s: long enough to see buffering.
    .option('--model <model>', 'model to stream from; pick one whose answer takes a second or more', 'sim-fast')
    .option('--tokens <n>', 'answer length to ask for', '150')
    .option('--timeout-ms <ms>', 'give up after', '30000')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit status: 0 incremental or inconclusive, 1 buffered, chunked or error.')
    .action(async (baseUrl: string, options: DoctorStreamOptions) => {
      const { probeStream } = await import('./stream-probe.js');
      const report = await probeStream({
        baseUrl,
        key: options.key ?? process.env.BREAKWATER_API_KEY,
        model: options.model,
        tokens: Number(options.tokens),
        timeoutMs: Number(options.timeoutMs),
      });
      if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
      else {
        const lines = [
          `stream ${report.url} (model ${report.model}, HTTP/${report.httpVersion}, status ${report.status})`,
          `verdict        ${report.verdict}: ${report.summary}`,
          `ttft           ${ms(report.ttftMs)} (headers after ${ms(report.headersMs)})`,
          `events         ${report.contentEvents} content in ${report.bursts} bursts, ${report.heartbeats} heartbeats, over ${ms(report.spanMs)}`,
          `largest gap    ${ms(report.largestGapMs)}`,
          ...(report.likelyCulprit ? [`likely culprit ${report.likelyCulprit}`] : []),
          ...report.findings.map((finding) => `note           ${finding}`),
        ];
        process.stdout.write(lines.join('\n') + '\n');
      }
      if (report.verdict === 'buffered' || report.verdict === 'chunked' || report.verdict === 'error') process.exitCode = 1;
    });
}
