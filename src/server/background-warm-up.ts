import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Traffic, Warmth } from '../gateway/warmth.js';
import { loadTokenizer, tokenizerLoading } from '../tenancy/token-estimator.js';

/**
 * A server never quiet this long after ready loads the tokenizer anyway: by then a request that
 * needs a token count would have loaded it, with the same pause, so waiting longer gains nothing.
 */
export const TOKENIZER_WARM_UP_BOUND_MS = 10_000;

/** How a quiet wait ended: quiet, never quiet within the bound, or no longer needed. */
export type QuietOutcome = 'quiet' | 'busy' | 'needless';

/** How {@link whenQuiet} waits. */
export interface QuietOptions {
  quietMs: number;
  boundMs: number;
  signal: AbortSignal;
  /** Looked at on each check: true ends the wait early (what it waited for happened anyway). */
  needless?: () => boolean;
}

/**
 * Resolves once `traffic` was quiet for a whole check: every `quietMs` on `clock` it looks at the
 * counters, and it is quiet when no request started since the previous look and none was in flight
 * then (so none ran in between). A quiet spell is noticed `quietMs` to `2 × quietMs` after it
 * began. Gives up with `'busy'` after `boundMs`; rejects when `signal` aborts. Polling costs the
 * request path nothing: a request only bumps a counter.
 */
export async function whenQuiet(traffic: Traffic, clock: Clock, options: QuietOptions): Promise<QuietOutcome> {
  const deadline = clock.now() + options.boundMs;
  let seen = traffic.started;
  let wasIdle = traffic.inFlight === 0;
  for (let left = options.boundMs; left > 0; left = deadline - clock.now()) {
    await clock.sleep(Math.min(options.quietMs, left), options.signal);
    if (options.needless?.()) return 'needless';
    if (wasIdle && traffic.started === seen) return 'quiet';
    seen = traffic.started;
    wasIdle = traffic.inFlight === 0;
  }
  return 'busy';
}

/** What the background warm-up needs. */
export interface BackgroundWarmUpDeps {
  clock: Clock;
  traffic: Traffic;
  warmth: Warmth;
  /** `server.warmUpQuietMs`. */
  quietMs: number;
  /** Settles once upstream connections are warm (warm-up pings and model discovery). */
  connections: Promise<unknown>;
  logger?: Logger | undefined;
}

/** The warm-up after ready (SPEC CS-2). */
export interface BackgroundWarmUp {
  /** Resolves once connections and the tokenizer are warm, or the warm-up was stopped. */
  readonly done: Promise<void>;
  stop(): void;
}

/**
 * Warms what the first requests would otherwise pay for, after ready and off their path: the
 * connection pings already run; this adds the tokenizer, whose module evaluation blocks the event
 * loop for ~130 ms, so it waits until the server is quiet (or {@link TOKENIZER_WARM_UP_BOUND_MS}
 * passed). It loads it whether or not the config sets token limits: limits and budgets that count
 * tokens can be set at run time through the admin API, so any request may come to need a count.
 * Until both are done `warmth` tags every request cold.
 */
export function startBackgroundWarmUp(deps: BackgroundWarmUpDeps): BackgroundWarmUp {
  const stopped = new AbortController();
  const startedAt = deps.clock.now();
  const tokenizer = async (): Promise<void> => {
    // A request that needs a token count may start loading it first (or, in one process, another
    // gateway did): then only the end of that load is awaited.
    const outcome = tokenizerLoading()
      ? 'needless'
      : await whenQuiet(deps.traffic, deps.clock, { quietMs: deps.quietMs, boundMs: TOKENIZER_WARM_UP_BOUND_MS, signal: stopped.signal, needless: tokenizerLoading });
    await loadTokenizer();
    deps.logger?.debug({ outcome, afterMs: deps.clock.now() - startedAt }, 'tokenizer warmed up');
  };
  const done = Promise.all([deps.connections, tokenizer()]).then(
    () => {},
    () => {},
  );
  deps.warmth.coldUntil(done);
  return {
    done,
    stop: () => stopped.abort(),
  };
}
