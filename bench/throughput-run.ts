import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { cpuPerRequest, sampleCpu } from './process-cpu.js';
import { requestHeaders, type HttpTarget } from './http-target.js';
import { SampleList, summarize, type LatencySummary } from './stats.js';

/** Result of one fixed-concurrency run against one target. */
export interface ThroughputResult {
  target: HttpTarget['name'];
  stream: boolean;
  connections: number;
  durationS: number;
  /** 2xx responses completed in the measured window. */
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
  /** Closed-loop latency (mostly queueing at saturation), 2xx only. */
  latencyMs: LatencySummary;
  /** CPU µs per request of each process (client, upstream, proxy). */
  cpuUsPerRequest: Record<string, number>;
}

/** Load shape of a throughput run. */
export interface ThroughputOptions {
  connections: number;
  warmupS: number;
  durationS: number;
}

interface Counted {
  ok: number;
  non2xx: number;
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
  });
  if (counted) {
    // autocannon's own histogram has 1 ms resolution; sub-millisecond overhead needs the raw times.
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        counted.ok++;
        counted.latencies.push(responseTimeMs);
      } else {
        counted.non2xx++;
      }
    });
  }
  return instance;
}

/** Warms up, then drives `connections` closed-loop clients for `durationS` and measures. */
export async function runThroughput(target: HttpTarget, body: string, stream: boolean, options: ThroughputOptions): Promise<ThroughputResult> {
  if (options.warmupS > 0) await cannon(target, body, options.connections, options.warmupS);
  const counted: Counted = { ok: 0, non2xx: 0, latencies: new SampleList() };
  const pids = { client: process.pid, ...target.pids };
  const cpuBefore = sampleCpu(pids);
  const started = performance.now();
  const result = await cannon(target, body, options.connections, options.durationS, counted);
  const elapsedS = (performance.now() - started) / 1000;
  const cpuAfter = sampleCpu(pids);
  return {
    target: target.name,
    stream,
    connections: options.connections,
    durationS: elapsedS,
    requests: counted.ok,
    rps: counted.ok / elapsedS,
    non2xx: counted.non2xx,
    errors: result.errors,
    latencyMs: summarize(counted.latencies.values()),
    cpuUsPerRequest: cpuPerRequest(cpuBefore, cpuAfter, counted.ok),
  };
}
