import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { loadConfig, type ConfigOverrides } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { newId } from '../core/ids.js';
import { isAgentDefinition, type AgentDefinition, type ToolFunction } from '../runs/define-agent.js';
import type { StartWorkerOptions } from '../runs/start-worker.js';
import { hashValues } from '../sim/sim-hash.js';
import type { KeyRecord, RunRecord, Stores } from '../store/interfaces.js';
import { TERMINAL_RUN_STATUSES } from '../store/run-records.js';
import { gatewayFaultDecorator, gatewayOverrides, routeAgentToGateway } from './gateway-model.js';
import type { LoadedScenario } from './load-scenario.js';
import type { Scenario } from './scenario-schema.js';
import { scenarioScripts } from './scenario-script.js';

/** The variable a crash trial's worker process gets the effective `model.gateway` in (the key stays off its command line). */
export const GATEWAY_ENV = 'BREAKWATER_SIM_GATEWAY';

/** The seed of one trial: the run seed, the scenario and the trial number, so trials differ yet replay. */
export function trialSeed(seed: number, scenario: string, trial: number): number {
  return hashValues(seed, scenario, trial) % 2 ** 31;
}

/**
 * The configuration of an episode's worker: simulated models answering instantly, the scenario's
 * provider faults as `@fault` suffixes on the models the agent calls, short leases so a killed
 * worker's run is taken over quickly. The environment is ignored: a sandbox reaches a real
 * provider only through a gateway the scenario names (`model.gateway`).
 */
export function episodeConfig(loaded: LoadedScenario, dataDir: string, seed: number, store: 'memory' | 'sqlite'): Config {
  const { model } = loaded.scenario;
  const overrides: ConfigOverrides = {
    server: { dataDir, logLevel: 'silent', accessLog: false },
    store: { kind: store },
    sim: { seed, timeScale: 0 },
    runs: { leaseMs: 800, heartbeatMs: 200, pollMs: 25 },
    ...(model.gateway ? gatewayOverrides(loaded.scenario, model.gateway) : simOverrides(loaded.scenario)),
  };
  return loadConfig({ env: {}, cwd: dataDir, overrides });
}

function simOverrides(scenario: Scenario): ConfigOverrides {
  const { model } = scenario;
  const models = Object.fromEntries(Object.entries(model.faults).map(([name, spec]) => [name, `sim/${name}@${spec}`]));
  const retry = model.maxAttempts ? { maxAttempts: model.maxAttempts, maxAttemptsPerDeployment: model.maxAttempts, baseMs: 1, capMs: 5 } : undefined;
  return { models, ...(retry ? { routes: { defaults: { retry } } } : {}) };
}

/**
 * What an episode's worker runs besides its config: the agent with the world's fakes as its tools,
 * and either the scenario's scripted sim turns or, against a gateway, its model names mapped and
 * its provider faults asked for per attempt.
 */
export function episodeWorker(loaded: LoadedScenario, agent: AgentDefinition, tools: Record<string, ToolFunction>, seed: number): Pick<StartWorkerOptions, 'agents' | 'simScripts' | 'decorateAdapter'> {
  const { gateway } = loaded.scenario.model;
  if (!gateway) return { agents: [{ ...agent, tools }], simScripts: scenarioScripts(loaded.scenario) };
  return { agents: [{ ...routeAgentToGateway(agent, loaded.scenario, gateway), tools }], decorateAdapter: gatewayFaultDecorator(loaded.scenario, seed) };
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
