import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { CronSchedule } from '../core/cron-schedule.js';
import type { ProviderAdapter } from '../core/provider.js';
import type { Config } from '../config/schema.js';
import type { Warmth } from './warmth.js';

/** What warm-up and keep-warm need. */
export interface KeepWarmDeps {
  config: Config;
  adapter(provider: string): ProviderAdapter | undefined;
  warmth: Warmth;
  clock: Clock;
  logger?: Logger | undefined;
  /** Providers whose warm-up another task already does (model discovery fetches the same list). */
  skipWarmUp?: (provider: string) => boolean;
}

/** Background warm-up and keep-warm pings; `stop()` ends them. */
export interface KeepWarm {
  /** Resolves once the warm-up pings after ready have finished, well or not (at once without `server.warmUp`). */
  readonly warmedUp: Promise<void>;
  /** Resolves once no ping is in flight (tests step a manual clock, then wait for the pings it woke). */
  settled(): Promise<void>;
  stop(): void;
}

/** A provider's `keepWarm` settings. */
export type KeepWarmSettings = NonNullable<Config['providers'][string]['keepWarm']>;

/** Pings every 30 s when neither `intervalMs` nor `cron` is given. */
const DEFAULT_INTERVAL_MS = 30_000;

/** When the next ping is due after `now`: on the cron schedule, else `intervalMs` later. */
export function pingSchedule(settings: KeepWarmSettings): (now: number) => number {
  if (settings.cron === undefined) {
    const intervalMs = settings.intervalMs ?? DEFAULT_INTERVAL_MS;
    return (now) => now + intervalMs;
  }
  const schedule = CronSchedule.parse(settings.cron);
  // The schema has checked that it fires; the fallback only keeps the loop from spinning.
  return (now) => schedule.next(now) ?? now + DAY_MS;
}

/** The longest wait between two pings from `now` on (idle pooled connections should outlive it). */
export function pingPeriodMs(settings: KeepWarmSettings, now: number): number {
  const next = pingSchedule(settings);
  const first = next(now);
  return next(first) - first;
}

const DAY_MS = 86_400_000;

/** Time allowed for the warm-up ping of a provider without keep-warm settings. */
const WARM_UP_TIMEOUT_MS = 10_000;

/**
 * Warms HTTP upstreams after ready and keeps them warm (SPEC CS-2, CS-4). A ping is the provider's
 * model list (`GET /models`): it needs no tokens, opens a pooled connection (TLS included) and
 * wakes a scale-to-zero upstream. A successful ping marks the provider used, so the next request
 * is not tagged cold. Pings run on the injected clock, so tests drive them by hand; they never
 * delay readiness or a request, and a failed one is only logged.
 */
export function startKeepWarm(deps: KeepWarmDeps): KeepWarm {
  const stopped = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const warmUps: Array<Promise<void>> = [];
  const track = (ping: Promise<void>) => {
    inFlight.add(ping);
    void ping.finally(() => inFlight.delete(ping));
  };
  const ping = async (name: string, adapter: ProviderAdapter, timeoutMs: number): Promise<void> => {
    try {
      await adapter.listModels!({ signal: AbortSignal.any([stopped.signal, AbortSignal.timeout(timeoutMs)]) });
      deps.warmth.touch(name);
    } catch (error) {
      if (!stopped.signal.aborted) deps.logger?.warn({ provider: name, err: error instanceof Error ? error.message : String(error) }, 'keep-warm ping failed');
    }
  };
  const keepWarm = async (name: string, adapter: ProviderAdapter, settings: KeepWarmSettings): Promise<void> => {
    const nextPing = pingSchedule(settings);
    while (!stopped.signal.aborted) {
      const now = deps.clock.now();
      await deps.clock.sleep(nextPing(now) - now, stopped.signal);
      const done = ping(name, adapter, settings.timeoutMs);
      track(done);
      await done;
    }
  };
  for (const [name, provider] of Object.entries(deps.config.providers)) {
    const adapter = deps.adapter(name);
    if (!adapter?.listModels) continue;
    // The sim runs in this process: it has no connection to warm.
    if (deps.config.server.warmUp && provider.kind !== 'sim' && !deps.skipWarmUp?.(name)) {
      const warmUp = ping(name, adapter, provider.keepWarm?.timeoutMs ?? WARM_UP_TIMEOUT_MS);
      track(warmUp);
      warmUps.push(warmUp);
    }
    if (provider.keepWarm) keepWarm(name, adapter, provider.keepWarm).catch(() => {});
  }
  return {
    warmedUp: Promise.all(warmUps).then(() => {}),
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    stop() {
      stopped.abort();
    },
  };
}
