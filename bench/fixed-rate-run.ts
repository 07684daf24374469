import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { requestHeaders, sleep, targetPool, type HttpTarget } from './http-target.js';
import { cpuPerSuccess, measureWindow, otherCpuShare, percent, type MeasuredWindow } from './measure-window.js';
import { SampleList, summarize, type LatencySummary } from './stats.js';

/** Result of an open-loop run at a fixed request rate. */
export interface FixedRateResult {
  target: HttpTarget['name'];
  /** Requests per second asked for. */
  rate: number;
  /** 2xx per second actually completed; below `rate` means the target (or the box) fell behind. */
  achievedRps: number;
  requests: number;
  failures: number;
  /** Send → last body byte, 2xx only. */
  latencyMs: LatencySummary;
  /** Most requests in flight at once; reaches the cap when the target cannot keep up. */
  maxInFlight: number;
  /** Sends skipped because {@link IN_FLIGHT_CAP} requests were already waiting (overload). */
  shed: number;
  cpuUsPerRequest: Record<string, number>;
  /** % of the machine's CPU that unrelated processes used meanwhile (noise); undefined off Linux. */
  otherCpuPercent: number | undefined;
}

/** Load shape of a fixed-rate run. */
export interface FixedRateOptions {
  rate: number;
  warmupS: number;
  durationS: number;
}

/** Bounds the load on a target that falls behind: beyond this, scheduled sends are skipped. */
export const IN_FLIGHT_CAP = 256;

interface Tally {
  shed: number;
  ok: number;
  failures: number;
  inFlight: number;
  maxInFlight: number;
  latencies: SampleList | undefined;
}

function newTally(latencies: SampleList | undefined): Tally {
  return { shed: 0, ok: 0, failures: 0, inFlight: 0, maxInFlight: 0, latencies };
}

async function sendOne(pool: Pool, target: HttpTarget, body: string, tally: Tally): Promise<void> {
  tally.inFlight++;
  if (tally.inFlight > tally.maxInFlight) tally.maxInFlight = tally.inFlight;
  const started = performance.now();
  try {
    const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: requestHeaders(target), body });
    await response.body.dump({ limit: 1 << 20 });
    if (response.statusCode >= 200 && response.statusCode < 300) {
      tally.ok++;
      tally.latencies?.push(performance.now() - started);
    } else {
      tally.failures++;
    }
  } catch {
    tally.failures++;
  } finally {
    tally.inFlight--;
  }
}

/**
 * Sends `rate × seconds` requests on a fixed schedule regardless of how fast answers come back
 * (open loop), so latency is measured at a known load rather than at saturation.
 */
async function drive(pool: Pool, target: HttpTarget, body: string, rate: number, seconds: number, tally: Tally): Promise<void> {
  const total = Math.max(1, Math.round(rate * seconds));
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    for (; sent < due; sent++) {
      if (tally.inFlight >= IN_FLIGHT_CAP) {
        tally.shed++;
        continue;
      }
      const request = sendOne(pool, target, body, tally);
      pending.add(request);
      void request.then(() => pending.delete(request));
    }
    // A 1 ms tick: at 1,000 req/s that is about one request per tick, evenly spread.
    await sleep(1);
  }
  await Promise.all(pending);
}

/** Warms up, then sends requests at a fixed rate for `durationS`. */
export async function measureFixedRate(target: HttpTarget, body: string, options: FixedRateOptions): Promise<MeasuredWindow> {
  const pool = targetPool(target, IN_FLIGHT_CAP);
  try {
    if (options.warmupS > 0) await drive(pool, target, body, options.rate, options.warmupS, newTally(undefined));
    return await measureWindow(target, async () => {
      const tally = newTally(new SampleList());
      await drive(pool, target, body, options.rate, options.durationS, tally);
      return {
        ok: tally.ok,
        failures: tally.failures,
        samples: { latency: tally.latencies!.values() },
        counters: { shed: tally.shed, maxInFlight: tally.maxInFlight },
      };
    });
  } finally {
    await pool.close();
  }
}

/** Summarizes a target's merged fixed-rate windows. */
export function fixedRateResult(target: HttpTarget, rate: number, window: MeasuredWindow): FixedRateResult {
  return {
    target: target.name,
    rate,
    achievedRps: window.ok / window.elapsedS,
    requests: window.ok,
    failures: window.failures,
    latencyMs: summarize(window.samples.latency ?? []),
    maxInFlight: window.counters.maxInFlight ?? 0,
    shed: window.counters.shed ?? 0,
    cpuUsPerRequest: cpuPerSuccess(window),
    otherCpuPercent: percent(otherCpuShare(window)),
  };
}
