import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock } from '../core/clock.js';
import type { AgentDefinition } from '../runs/define-agent.js';
import { RunService } from '../runs/run-service.js';
import { startWorker } from '../runs/start-worker.js';
import type { RunRecord } from '../store/interfaces.js';
import { openStores } from '../store/stores.js';
import type { LoadedScenario } from './load-scenario.js';
import { checkGateway, gatewayDown } from './gateway-model.js';
import { checkAssertions } from './scenario-assertions.js';
import { GATEWAY_ENV, episodeConfig, episodeWorker, insertSimKey, silentLogger, trialSeed, waitForRun } from './sim-episode.js';
import { openWorldStore, type WorldStore } from './world-store.js';
import { createWorldTools } from './world-tools.js';

/** Who is to blame for a failed trial (SPEC SIM-14). */
export type FailureClass = 'agent' | 'simulator' | 'infrastructure';

/** One episode's result. */
export interface TrialResult {
  trial: number;
  seed: number;
  passed: boolean;
  failureClass?: FailureClass;
  failures: string[];
  status: string;
  steps: number;
  costMicros: number;
  /** Effects performed (ledger entries that changed the world; repeats excluded). */
  effects: number;
  /** Worker processes SIGKILLed by the crash fault. */
  crashes: number;
}

/** How to run trials. */
export interface TrialOptions {
  seed: number;
  /** The agent, already imported (in-process trials). */
  agent: AgentDefinition;
  /** `breakwater` CLI entry to spawn worker processes with (crash scenarios). */
  cli: string;
  timeoutMs?: number;
}

function judge(loaded: LoadedScenario, world: WorldStore, run: RunRecord, trial: number, seed: number, crashes: number): TrialResult {
  const error = run.error === undefined ? undefined : (JSON.parse(run.error) as unknown);
  const effects = world.ledger().filter((entry) => entry.outcome === 'performed').length;
  const result = (failureClass: FailureClass | undefined, failures: string[]): TrialResult => ({ trial, seed, passed: failures.length === 0, failureClass, failures, status: run.status, steps: run.steps, costMicros: run.costMicros, effects, crashes });
  const down = loaded.scenario.model.gateway && run.status === 'failed' ? gatewayDown(error) : undefined;
  if (down) return result('infrastructure', [down]);
  let failures: string[];
  let failureClass: FailureClass | undefined;
  try {
    failures = checkAssertions(loaded.scenario, loaded.fixtures, world, { status: run.status, error, steps: run.steps, costMicros: run.costMicros });
    if (failures.length > 0) failureClass = 'agent';
  } catch (err) {
    failures = [`the simulator failed while checking: ${(err as Error).message}`];
    failureClass = 'simulator';
  }
  return result(failureClass, failures);
}

/** A trial in this process: the run worker with the world's fakes bound in place of the agent's tools. */
async function runInProcess(loaded: LoadedScenario, trial: number, options: TrialOptions, world: WorldStore, seed: number, dataDir: string): Promise<TrialResult> {
  const tools = createWorldTools({ scenario: loaded.scenario, world, seed });
  const worker = await startWorker({ config: episodeConfig(loaded, dataDir, seed, 'memory'), logger: silentLogger, ...episodeWorker(loaded, options.agent, tools, seed) });
  try {
    const key = await insertSimKey(worker.stores);
    const { run } = await worker.runtime.service.create(key, { agent: options.agent.name, input: loaded.scenario.agent.input, limits: loaded.scenario.agent.limits }, `sim_${trial}`);
    const ended = await waitForRun(worker.stores, run.id, options.timeoutMs ?? 60_000);
    return judge(loaded, world, ended, trial, seed, 0);
  } finally {
    await worker.close();
  }
}

function spawnWorker(options: TrialOptions, loaded: LoadedScenario, worldPath: string, dataDir: string, seed: number): Promise<ChildProcess> {
  // The gateway may come from `sim run --gateway`, not the file: the worker gets it in its environment, never on its command line.
  const { gateway } = loaded.scenario.model;
  const child = spawn(process.execPath, [options.cli, 'sim', 'worker', '--scenario', loaded.path, '--world', worldPath, '--data-dir', dataDir, '--seed', String(seed), '--export', loaded.scenario.agent.export], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: gateway ? { ...process.env, [GATEWAY_ENV]: JSON.stringify(gateway) } : process.env,
  });
  child.stderr!.resume();
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('{"event":"ready"')) resolve(child);
    });
    child.once('exit', (code, signal) => reject(Object.assign(new Error(`sim worker exited (${signal ?? code}) before it was ready`))));
  });
}

/**
 * A trial with real worker processes on one SQLite store and a world file (SPEC SIM-15): the
 * worker SIGKILLs itself right after the scenario's named tool performed its effect, and a fresh
 * worker takes the run over once the lease lapses.
 */
async function runWithCrashes(loaded: LoadedScenario, trial: number, options: TrialOptions, world: WorldStore, worldPath: string, seed: number, dataDir: string): Promise<TrialResult> {
  const config = episodeConfig(loaded, dataDir, seed, 'sqlite');
  const stores = await openStores(config, { dataDir });
  const children: ChildProcess[] = [];
  let crashes = 0;
  try {
    let current = await spawnWorker(options, loaded, worldPath, dataDir, seed);
    children.push(current);
    const key = await insertSimKey(stores);
    const service = new RunService({ store: stores.runs, clock: systemClock });
    const { run } = await service.create(key, { agent: options.agent.name, input: loaded.scenario.agent.input, limits: loaded.scenario.agent.limits }, `sim_${trial}`);
    const ended = await waitForRun(stores, run.id, options.timeoutMs ?? 60_000, async () => {
      if (current.exitCode === null && current.signalCode === null) return;
      crashes++;
      current = await spawnWorker(options, loaded, worldPath, dataDir, seed);
      children.push(current);
    });
    return judge(loaded, world, ended, trial, seed, crashes);
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stores.close();
  }
}

/** Runs trial `trial` of a scenario in a fresh world; never throws (a broken episode is an infrastructure or simulator failure). */
export async function runTrial(loaded: LoadedScenario, trial: number, options: TrialOptions): Promise<TrialResult> {
  const seed = trialSeed(options.seed, loaded.scenario.name, trial);
  const dataDir = mkdtempSync(join(tmpdir(), 'bw-sim-'));
  const crash = loaded.scenario.faults.crash !== undefined;
  const worldPath = crash ? join(dataDir, 'world.db') : ':memory:';
  let world: WorldStore | undefined;
  try {
    if (loaded.scenario.model.gateway) await checkGateway(loaded.scenario.model.gateway);
    world = openWorldStore(worldPath, loaded.fixtures);
    return crash ? await runWithCrashes(loaded, trial, options, world, worldPath, seed, dataDir) : await runInProcess(loaded, trial, options, world, seed, dataDir);
  } catch (error) {
    // Judging catches its own errors (simulator); anything else is the machinery around the agent.
    return { trial, seed, passed: false, failureClass: 'infrastructure', failures: [(error as Error).message], status: 'error', steps: 0, costMicros: 0, effects: 0, crashes: 0 };
  } finally {
    world?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
