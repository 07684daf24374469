import autocannon from 'autocannon';
import { requestHeaders, type HttpTarget } from './http-target.js';
import { cpuPerSuccess, measureWindow, otherCpuShare, percent, type MeasuredWindow } from './measure-window.js';
import { SampleList, summarize, type LatencySummary } from './stats.js';

/** Result of fixed-concurrency load against one target (all rounds together). */
export interface ThroughputResult {
  target: HttpTarget['name'];
  stream: boolean;
  connections: number;
  durationS: number;
  /** 2xx responses completed in the measured windows. */
  requests: number;
  rps: number;
  /** Non-2xx answers plus transport errors. */
  failures: number;
  /** Closed-loop latency (mostly queueing at saturation), 2xx only. */
  latencyMs: LatencySummary;
  /** CPU µs per request of each process (client, upstream, proxy). */
  cpuUsPerRequest: Record<string, number>;
  /** % of the machine's CPU that unrelated processes used meanwhile (noise); undefined off Linux. */
  otherCpuPercent: number | undefined;
}

/** Load shape of one throughput window. */
export interface ThroughputOptions {
  connections: number;
  warmupS: number;
  durationS: number;
}

interface Counted {
  ok: number;
  failures: number;
  latencies: SampleList;
}

function cannon(target: HttpTarget, body: string, connections: number, durationS: number, counted?: Counted) {
  const instance = autocannon({
    url: `${target.url}/v1/chat/completions`,
    method: 'POST',
    headers: requestHeaders(target),
    body,
    connections,
    duration: durationS,
    timeout: 30,
    // A run ends on the first sample tick after `duration`; the default 1 s tick rounds every
    // window (and warm-up) up to whole seconds.
    sampleInt: 100,
  });
  if (counted) {
    // autocannon's own histogram has 1 ms resolution; sub-millisecond overhead needs the raw times.
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        counted.ok++;
        counted.latencies.push(responseTimeMs);
      } else {
        counted.failures++;
      }
    });
    instance.on('reqError', () => counted.failures++);
  }
  return instance;
}

/** Warms up, then drives `connections` closed-loop clients (autocannon) for `durationS`. */
export async function measureThroughput(target: HttpTarget, body: string, options: ThroughputOptions): Promise<MeasuredWindow> {
  if (options.warmupS > 0) await cannon(target, body, options.connections, options.warmupS);
  return measureWindow(target, async () => {
    const counted: Counted = { ok: 0, failures: 0, latencies: new SampleList() };
    await cannon(target, body, options.connections, options.durationS, counted);
    return { ok: counted.ok, failures: counted.failures, samples: { latency: counted.latencies.values() }, counters: {} };
  });
}

/** Summarizes a target's merged throughput windows. */
export function throughputResult(target: HttpTarget, stream: boolean, connections: number, window: MeasuredWindow): ThroughputResult {
  return {
    target: target.name,
    stream,
    connections,
    durationS: window.elapsedS,
    requests: window.ok,
    rps: window.ok / window.elapsedS,
    failures: window.failures,
    latencyMs: summarize(window.samples.latency ?? []),
    cpuUsPerRequest: cpuPerSuccess(window),
    otherCpuPercent: percent(otherCpuShare(window)),
  };
}
