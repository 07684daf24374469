import { gatewayNodeFlagsFromEnv } from './breakwater-child.js';

/** What one `npm run bench:streams` does. */
export interface StreamsOptions {
  quick: boolean;
  /** Concurrent stream counts, one phase each. */
  counts: number[];
  /** The sim upstream's timeScale: sim-slow at 3 gives ~3 s to first token and ~3.3 tokens/s. */
  timeScale: number;
  /** max_tokens of every stream: with the time scale, how long each stream lasts. */
  maxTokens: number;
  /** Streams opened per second while ramping up to N. */
  openPerS: number;
  /** Extra Node flags for the gateway process (BENCH_GATEWAY_NODE_FLAGS, space-separated): to measure V8 flags. */
  gatewayNodeFlags: string[];
}

/** `npm run bench:streams -- --help`. */
export const STREAMS_USAGE = `usage: npm run bench:streams [-- --n 1000,5000] [-- --quick]

  --n <list>          concurrent streams per phase (default 1000,5000; quick 200,1000)
  --time-scale <x>    sim upstream timeScale (default 3: sim-slow ~3 s to first token, ~3.3 tokens/s; quick 1)
  --max-tokens <n>    tokens per stream (default 100, ~30 s of streaming; quick 20)
  --open-per-s <n>    ramp: streams opened per second (default 200); streams must outlast the ramp
  --quick             smaller and shorter, a smoke run

A warm-up of 200 short streams through Breakwater and 200 through the bare proxy goes first (JIT,
pooled upstream connections).
Each phase opens N streams of the slow sim model directly against the sim upstream, then the same
N through the bare pass-through proxy (bench/bare-proxy.ts) and through Breakwater, and reports
each proxy's RSS (peak) and CPU and the time to first token each way: the bare proxy's added TTFT
is what the cheapest Node proxy adds on this machine.
BENCH_GATEWAY_NODE_FLAGS="--flag …" passes Node/V8 flags to the gateway process.
BENCH_GATEWAY_LOG=<file> keeps the gateway's stdout (e.g. with --trace-gc) instead of a temp file.
BENCH_STREAMS_SAMPLES=<prefix> writes each phase's [start offset ms, TTFT ms] per stream to
<prefix>.<port>.json, to see whether the slow first tokens cluster (a pause) or spread out.
Raises its open-file limit (ulimit -n) to what 2N sockets need, or says how to.
`;

function valueAfter(argv: readonly string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value\n\n${STREAMS_USAGE}`);
  return value;
}

function positive(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number, got '${raw}'`);
  return value;
}

/** Reads the flags; throws with the usage on anything unknown. */
export function parseStreamsOptions(argv: readonly string[]): StreamsOptions {
  const known = new Set(['--quick', '--n', '--time-scale', '--max-tokens', '--open-per-s']);
  for (let i = 0; i < argv.length; i++) {
    if (!known.has(argv[i]!)) throw new Error(`unknown argument ${argv[i]}\n\n${STREAMS_USAGE}`);
    if (argv[i] !== '--quick') i++;
  }
  const quick = argv.includes('--quick');
  const n = valueAfter(argv, '--n');
  const counts = n ? n.split(',').map((c) => Math.round(positive(c.trim(), '--n', 1))) : quick ? [200, 1000] : [1000, 5000];
  return {
    quick,
    counts,
    timeScale: positive(valueAfter(argv, '--time-scale'), '--time-scale', quick ? 1 : 3),
    maxTokens: Math.round(positive(valueAfter(argv, '--max-tokens'), '--max-tokens', quick ? 20 : 100)),
    openPerS: positive(valueAfter(argv, '--open-per-s'), '--open-per-s', 200),
    gatewayNodeFlags: gatewayNodeFlagsFromEnv(),
  };
}
