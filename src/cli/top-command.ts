import type { Command } from 'commander';
import type { HeadlineStats } from '../observability/gateway-observability.js';

/** Options of `breakwater top`. */
export interface TopOptions {
  url: string;
  adminKey: string;
  intervalMs: number;
  /** Print one frame (two samples, for rates) and exit. */
  once?: boolean;
  write?: (text: string) => void;
  signal?: AbortSignal;
}

const CLEAR = '\x1b[2J\x1b[H';
const pad = (text: string | number, width: number) => String(text).padEnd(width);
const rate = (now: number, before: number | undefined, seconds: number) => (before === undefined || seconds <= 0 ? '–' : ((now - before) / seconds).toFixed(2));
const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');

/** One screen of `breakwater top`: the dashboard's headline numbers, rates since `previous`. */
export function renderTop(stats: HeadlineStats, previous?: HeadlineStats): string {
  const seconds = previous ? (stats.at - previous.at) / 1000 : 0;
  const lines = [
    `breakwater top — up ${stats.uptimeS} s — ${new Date(stats.at).toISOString()}`,
    '',
    `requests  ${pad(stats.requests.total, 10)} req/s ${pad(rate(stats.requests.total, previous?.requests.total, seconds), 8)} errors ${stats.requests.errors} (${pct(stats.requests.errors, stats.requests.total)})  err/s ${rate(stats.requests.errors, previous?.requests.errors, seconds)}`,
    `attempts  ${pad(stats.attempts.total, 10)} semantic failures ${stats.attempts.semanticFailures} (${pct(stats.attempts.semanticFailures, stats.attempts.total)})  retries ${stats.attempts.retries}  fallbacks ${stats.attempts.fallbacks}`,
    `tokens    in ${stats.tokens.input}  out ${stats.tokens.output}    spend $${stats.costUsd.toFixed(4)}`,
    `now       in flight ${stats.inFlight}  streams ${stats.streams.active} (resumable ${stats.streams.resumable})  ledger backlog ${stats.ledgerBacklog}`,
    `lanes     ${Object.entries(stats.lanes).map(([lane, l]) => `${lane}: ${l.requests} req, ${l.rejections} refused, ${l.queued} queued`).join('   ')}`,
  ];
  if (stats.runs) lines.push(`runs      ${Object.entries(stats.runs).map(([state, n]) => `${state} ${n}`).join('  ') || 'none'}`);
  lines.push('', `${pad('DEPLOYMENT', 32)}${pad('REQUESTS', 10)}${pad('ERRORS', 8)}${pad('ATTEMPTS', 10)}${pad('SEMANTIC', 10)}${pad('SPEND', 12)}BREAKER`);
  const breakers = new Map(stats.breakers.map((b) => [b.deployment, b.state]));
  for (const d of stats.deployments) {
    lines.push(`${pad(d.deployment, 32)}${pad(d.requests, 10)}${pad(d.errors, 8)}${pad(d.attempts, 10)}${pad(d.semanticFailures, 10)}${pad(`$${d.costUsd.toFixed(4)}`, 12)}${breakers.get(d.deployment) ?? '-'}`);
  }
  const codes = Object.entries(stats.errorsByCode);
  if (codes.length) lines.push('', `errors    ${codes.map(([code, n]) => `${code} ${n}`).join('  ')}`);
  return lines.join('\n') + '\n';
}

async function fetchStats(url: string, adminKey: string, signal?: AbortSignal): Promise<HeadlineStats> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/admin/stats`, { headers: { authorization: `Bearer ${adminKey}` }, signal });
  if (!res.ok) throw new Error(`GET /admin/stats answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as HeadlineStats;
}

/** Polls `GET /admin/stats` and redraws until aborted (or once). */
export async function runTop(options: TopOptions): Promise<void> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  let previous: HeadlineStats | undefined;
  for (;;) {
    const stats = await fetchStats(options.url, options.adminKey, options.signal);
    if (options.once && previous) return write(renderTop(stats, previous));
    if (!options.once) write(CLEAR + renderTop(stats, previous));
    previous = stats;
    const wait = options.once ? Math.min(options.intervalMs, 1000) : options.intervalMs;
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (options.signal?.aborted) return;
  }
}

/** `breakwater top`: a live terminal view of the headline numbers (SPEC OBS-7). */
export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description('live view of requests, errors, semantic failures, spend, lanes and breakers of a running gateway')
    .option('--url <url>', 'the gateway', process.env.BREAKWATER_URL ?? 'http://127.0.0.1:8080')
    .option('--admin-key <key>', 'an admin key (default: $BREAKWATER_ADMIN_KEY)')
    .option('--interval <seconds>', 'refresh period', '2')
    .option('--once', 'print one frame and exit')
    .action(async (options: { url: string; adminKey?: string; interval: string; once?: boolean }) => {
      const adminKey = options.adminKey ?? process.env.BREAKWATER_ADMIN_KEY;
      if (!adminKey) throw new Error('breakwater top needs an admin key: --admin-key bwa_… or BREAKWATER_ADMIN_KEY');
      const seconds = Number(options.interval);
      if (!(seconds > 0)) throw new Error(`--interval must be a positive number of seconds, not '${options.interval}'`);
      await runTop({ url: options.url, adminKey, intervalMs: seconds * 1000, once: options.once });
    });
}
