import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { loadConfig, type ConfigOverrides } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { newId } from '../core/ids.js';
import { isAgentDefinition, type AgentDefinition } from '../runs/define-agent.js';
import { hashValues } from '../sim/sim-hash.js';
import type { KeyRecord, RunRecord, Stores } from '../store/interfaces.js';
import { TERMINAL_RUN_STATUSES } from '../store/run-records.js';
import type { LoadedScenario } from './load-scenario.js';

/** The seed of one trial: the run seed, the scenario and the trial number, so trials differ yet replay. */
export function trialSeed(seed: number, scenario: string, trial: number): number {
  return hashValues(seed, scenario, trial) % 2 ** 31;
}

/**
 * The configuration of an episode's worker: simulated models answering instantly, the scenario's
 * provider faults as `@fault` suffixes on the models the agent calls, short leases so a killed
 * worker's run is taken over quickly. The environment is ignored: a sandbox never reaches a real provider.
 */
export function episodeConfig(loaded: LoadedScenario, dataDir: string, seed: number, store: 'memory' | 'sqlite'): Config {
  const { model } = loaded.scenario;
  const models = Object.fromEntries(Object.entries(model.faults).map(([name, spec]) => [name, `sim/${name}@${spec}`]));
  const overrides: ConfigOverrides = {
    server: { dataDir, logLevel: 'silent', accessLog: false },
    store: { kind: store },
    sim: { seed, timeScale: 0 },
    models,
    runs: { leaseMs: 800, heartbeatMs: 200, pollMs: 25 },
    ...(model.maxAttempts ? { routes: { defaults: { retry: { maxAttempts: model.maxAttempts, maxAttemptsPerDeployment: model.maxAttempts, baseMs: 1, capMs: 5 } } } } : {}),
  };
  return loadConfig({ env: {}, cwd: dataDir, overrides });
}

/** The agent a scenario names, imported from its module. */
export async function importAgent(loaded: LoadedScenario): Promise<AgentDefinition> {
  const module = (await import(pathToFileURL(loaded.agentModule).href)) as Record<string, unknown>;
  const agent = module[loaded.scenario.agent.export];
  if (!isAgentDefinition(agent)) throw new Error(`${loaded.agentModule} has no agent export "${loaded.scenario.agent.export}" (made with defineAgent)`);
  return agent;
}

/** A key for the episode's run to act as (the run's LLM calls go through the gateway pipeline as it). */
export async function insertSimKey(stores: Stores): Promise<KeyRecord> {
  const key: KeyRecord = { id: newId('key'), name: 'sim', hash: randomBytes(32).toString('hex'), prefix: 'bw_sim', kind: 'virtual', scopes: ['runs', 'chat'], createdAt: Date.now() };
  await stores.keys.insertKey(key);
  return key;
}

/** Polls until the run ends; `tick` runs between polls (restarting killed workers). */
export async function waitForRun(stores: Stores, id: string, timeoutMs: number, tick?: () => Promise<void>): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await stores.runs.getRun(id);
    if (run && TERMINAL_RUN_STATUSES.has(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run?.status ?? 'missing'} after ${timeoutMs} ms`);
    await tick?.();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const silentLogger = pino({ level: 'silent' });
