import { gatewayNodeFlagsFromEnv } from './breakwater-child.js';

/** Phases the benchmark can run, in order. */
export type BenchPhase = 'throughput' | 'stream' | 'rate' | 'ttft' | 'paced' | 'workers' | 'streams' | 'cold' | 'components';

/** All phases. */
export const BENCH_PHASES: readonly BenchPhase[] = Object.freeze(['throughput', 'stream', 'rate', 'ttft', 'paced', 'workers', 'streams', 'cold', 'components']);

/** What one `npm run bench` does. */
export interface BenchOptions {
  quick: boolean;
  writeBaseline: boolean;
  phases: BenchPhase[];
  /** Warm-up before each measured window, seconds. */
  warmupS: number;
  /** Measured seconds per target and phase, split over `rounds` windows. */
  durationS: number;
  /** Windows per target and phase, in alternating target order. */
  rounds: number;
  /** Closed-loop connections of the throughput runs. */
  connections: number;
  /** Concurrent streams of the TTFT runs. */
  streams: number;
  /** Requests per second of the fixed-rate latency run. */
  rate: number;
  /** Concurrent long streams of the `streams` phase (RSS and added TTFT, `bench/streams.ts`). */
  longStreams: number;
  /** Fresh starts (each followed by a warm restart) of the cold-start phase. */
  coldStarts: number;
  /** `max_tokens` of every completion (sim-fast answers ~30 stream events at 64). */
  maxTokens: number;
  /** Node/V8 flags the gateway runs under (BENCH_GATEWAY_NODE_FLAGS), recorded with the figures. */
  gatewayNodeFlags: string[];
}

/** `npm run bench -- --help`. */
export const BENCH_USAGE = `usage: npm run bench [-- --quick] [-- --write-baseline]

  --quick            ~20 s smoke run on an idle machine (0.7 s windows, 1 cold start)
  --write-baseline   store this run's ratios in bench/results/baseline.json (full runs only)

environment:
  BENCH_DURATION_S   measured seconds per target and phase (default 8, quick 0.7)
  BENCH_ROUNDS       windows the duration is split into, target order alternating (default 2, quick 1)
  BENCH_WARMUP_S     warm-up before a target's first window (default 2, quick 0.2; later ones ≤ 0.5)
  BENCH_CONNECTIONS  closed-loop connections for throughput (default 32)
  BENCH_STREAMS      concurrent streams for TTFT (default 100)
  BENCH_RATE         requests/s of the fixed-rate latency run (default 1000)
  BENCH_LONG_STREAMS concurrent long streams of the streams phase (default 1000, quick 100)
  BENCH_COLD_STARTS  cold-start runs: a fresh start, its restart and three first-event probes each (default 20, quick 1)
  BENCH_MAX_TOKENS   max_tokens of every request (default 64)
  BENCH_TENANT_LIMITS 0 serves the load with the printed key (auth, no limits or budgets); default 1
  BENCH_GATEWAY_NODE_FLAGS  Node/V8 flags for the gateway process, e.g. "--max-semi-space-size=4"
  BENCH_PHASES       comma list of ${BENCH_PHASES.join(',')} (default all)
`;

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got '${raw}'`);
  return value;
}

function phasesFrom(raw: string | undefined): BenchPhase[] {
  if (!raw) return [...BENCH_PHASES];
  const phases = raw.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = phases.filter((p) => !BENCH_PHASES.includes(p as BenchPhase));
  if (unknown.length) throw new Error(`unknown BENCH_PHASES entries ${unknown.join(', ')}; known: ${BENCH_PHASES.join(', ')}`);
  return BENCH_PHASES.filter((p) => phases.includes(p));
}

/** Reads flags and BENCH_* variables; throws with a usage hint on anything unknown. */
export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv): BenchOptions {
  const unknown = argv.filter((arg) => !['--quick', '--write-baseline'].includes(arg));
  if (unknown.length) throw new Error(`unknown argument ${unknown.join(' ')}\n\n${BENCH_USAGE}`);
  const quick = argv.includes('--quick');
  const writeBaseline = argv.includes('--write-baseline');
  const phases = phasesFrom(env.BENCH_PHASES);
  if (writeBaseline && (quick || phases.length !== BENCH_PHASES.length)) {
    throw new Error('--write-baseline needs a full run: drop --quick and BENCH_PHASES');
  }
  return {
    quick,
    writeBaseline,
    phases,
    warmupS: numberFrom(env, 'BENCH_WARMUP_S', quick ? 0.2 : 2),
    durationS: Math.max(0.2, numberFrom(env, 'BENCH_DURATION_S', quick ? 0.7 : 8)),
    rounds: Math.max(1, Math.round(numberFrom(env, 'BENCH_ROUNDS', quick ? 1 : 2))),
    connections: Math.max(1, Math.round(numberFrom(env, 'BENCH_CONNECTIONS', 32))),
    streams: Math.max(1, Math.round(numberFrom(env, 'BENCH_STREAMS', 100))),
    rate: Math.max(1, numberFrom(env, 'BENCH_RATE', 1000)),
    longStreams: Math.max(1, Math.round(numberFrom(env, 'BENCH_LONG_STREAMS', quick ? 100 : 1000))),
    coldStarts: Math.round(numberFrom(env, 'BENCH_COLD_STARTS', quick ? 1 : 20)),
    maxTokens: Math.max(1, Math.round(numberFrom(env, 'BENCH_MAX_TOKENS', 64))),
    gatewayNodeFlags: gatewayNodeFlagsFromEnv(env),
  };
}
