import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { spawnBenchChild, waitReady, type BenchChild } from './bench-child.js';
import { BENCH_MODEL, BENCH_MODEL_PACED, gatewayNodeFlagsFromEnv, startBreakwater, writeBenchConfig } from './breakwater-child.js';
import { completionBody, requestHeaders, type HttpTarget } from './http-target.js';

/** The three ways to reach one upstream. */
export interface TargetSet {
  direct: HttpTarget;
  bare: HttpTarget;
  breakwater: HttpTarget;
}

/** Every process of a load benchmark, started and checked. */
export interface BenchEnvironment {
  /** Targets over the instant upstream (timeScale 0). */
  instant: TargetSet;
  /** Targets over an upstream with sim-fast's real timing, when asked for. */
  paced?: TargetSet;
  /** Where the gateway's stdout (JSON access log) goes. */
  gatewayLog: string;
  stop(): Promise<void>;
}

function tsxChild(name: string, script: string, args: string[] = [], env: Record<string, string> = {}): BenchChild {
  return spawnBenchChild({ name, args: ['--import', 'tsx', script, ...args], env: { ...process.env, ...env }, keepStdin: true });
}

async function startUpstream(name: string, timeScale: number): Promise<{ child: BenchChild; url: string }> {
  const child = tsxChild(name, 'bench/upstream.ts', [], { BENCH_SIM_TIME_SCALE: String(timeScale) });
  const ready = await waitReady(child);
  return { child, url: String(ready.url) };
}

async function startBareProxy(name: string, upstreamUrl: string): Promise<{ child: BenchChild; url: string }> {
  const child = tsxChild(name, 'bench/bare-proxy.ts', [upstreamUrl]);
  const ready = await waitReady(child);
  return { child, url: String(ready.url) };
}

/** Like Promise.all, but waits for every start, so none is still starting when cleanup runs. */
async function settleAll<T extends readonly unknown[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** One request per target before any load, so a broken piece fails with its own answer. */
export async function checkTarget(target: HttpTarget, maxTokens: number): Promise<void> {
  const response = await request(`${target.url}/v1/chat/completions`, {
    method: 'POST',
    headers: requestHeaders(target),
    body: completionBody(target.model, false, maxTokens),
  });
  const text = await response.body.text();
  if (response.statusCode !== 200 || !text.includes('"choices"')) {
    throw new Error(`${target.name} (${target.url}, model ${target.model}) answered ${response.statusCode}: ${text.slice(0, 400)}`);
  }
}

function targetSet(upstream: { child: BenchChild; url: string }, bare: { child: BenchChild; url: string }, gateway: { pid: number; url: string; key: string; model: string }): TargetSet {
  return {
    direct: { name: 'direct', url: upstream.url, model: 'sim-fast', headers: {}, pids: { upstream: upstream.child.pid } },
    bare: { name: 'bare', url: bare.url, model: 'sim-fast', headers: {}, pids: { upstream: upstream.child.pid, proxy: bare.child.pid } },
    breakwater: {
      name: 'breakwater',
      url: gateway.url,
      model: gateway.model,
      headers: { authorization: `Bearer ${gateway.key}` },
      pids: { upstream: upstream.child.pid, proxy: gateway.pid },
    },
  };
}

/**
 * Starts the sim upstream(s), a bare proxy in front of each and one Breakwater (compiled CLI, auth
 * and access log on) serving both, each in its own process, then checks every target once.
 */
export async function startBenchEnvironment(tmpDir: string, withPaced: boolean, maxTokens: number): Promise<BenchEnvironment> {
  const children: BenchChild[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => child.stop()));
  };
  // Started children are remembered at once, so a sibling's failure still stops them.
  const track = <T extends { child: BenchChild }>(started: T): T => {
    children.push(started.child);
    return started;
  };
  try {
    const [upstream, pacedUpstream] = await settleAll([
      startUpstream('sim upstream', 0).then(track),
      withPaced ? startUpstream('sim upstream (paced)', 1).then(track) : Promise.resolve(undefined),
    ]);
    const dataDir = join(tmpDir, 'gateway-data');
    mkdirSync(dataDir, { recursive: true });
    const gatewayLog = process.env.BENCH_GATEWAY_LOG ?? join(tmpDir, 'breakwater.log');
    const configPath = writeBenchConfig(tmpDir, upstream.url, pacedUpstream?.url);
    const [bare, pacedBare, gateway] = await settleAll([
      startBareProxy('bare proxy', upstream.url).then(track),
      pacedUpstream ? startBareProxy('bare proxy (paced)', pacedUpstream.url).then(track) : Promise.resolve(undefined),
      startBreakwater({ dataDir, configPath, stdoutFile: gatewayLog, tenantLimits: process.env.BENCH_TENANT_LIMITS !== '0', nodeFlags: gatewayNodeFlagsFromEnv() }).then(track),
    ]);
    const gatewayFacts = { pid: gateway.child.pid, url: gateway.url, key: gateway.virtualKey };
    const instant = targetSet(upstream, bare, { ...gatewayFacts, model: BENCH_MODEL });
    const paced = pacedUpstream && pacedBare ? targetSet(pacedUpstream, pacedBare, { ...gatewayFacts, model: BENCH_MODEL_PACED }) : undefined;
    await Promise.all([...Object.values(instant), ...(paced ? Object.values(paced) : [])].map((target) => checkTarget(target, maxTokens)));
    return { instant, ...(paced ? { paced } : {}), gatewayLog, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
