import { join } from 'node:path';
import type { AgentDefinition, ToolFunction } from '../runs/define-agent.js';
import { loadScenario, parseScenario, type LoadedScenario, type WorldDoc } from './load-scenario.js';
import { gatewayModelSchema, type GatewayModelInput } from './scenario-schema.js';
import { runTrial, type TrialResult } from './run-trial.js';
import { checkAssertions, type TrialOutcome } from './scenario-assertions.js';
import { importAgent } from './sim-episode.js';
import type { ScenarioReport } from './sim-report.js';
import { runScenarioTrials } from './run-scenarios.js';
import { openWorldStore, type LedgerEntry, type WorldStore } from './world-store.js';
import { createWorldTools } from './world-tools.js';

/** Options of {@link createSimWorld}. */
export interface SimWorldOptions {
  seed?: number;
  /** An agent in code instead of the scenario's module (or a variant of it). */
  agent?: AgentDefinition;
  /** Another export of the scenario's agent module (crash trials load it in the worker processes too). */
  export?: string;
  /** The `breakwater` CLI crash trials spawn workers with; defaults to `dist/breakwater.cjs` under the working directory. */
  cli?: string;
  /** Send the agent's model calls through this running gateway instead of the in-process sim models. */
  gateway?: GatewayModelInput;
}

/** A scenario's world in this process, for `node:test` (SPEC SIM-6). */
export interface SimWorld {
  readonly loaded: LoadedScenario;
  /** The fakes bound to the current world, to call directly or hand to an agent. */
  readonly tools: Record<string, ToolFunction>;
  collection(name: string): WorldDoc[];
  ledger(): LedgerEntry[];
  /** A fresh world from the scenario's fixtures; the ledger starts empty. */
  reset(): void;
  /** The scenario's failed criteria against the current world (none = pass). */
  check(outcome: TrialOutcome): string[];
  /** One trial of the scenario's agent in its own world (the current one is left alone). */
  trial(n?: number): Promise<TrialResult>;
  /** `trials` trials (default: the scenario's), summarised as `sim run` reports them. */
  run(trials?: number): Promise<ScenarioReport>;
  close(): void;
}

/** A scenario (file path or parsed object) as a world you can drive and judge from a test. */
export function createSimWorld(scenario: string | Record<string, unknown>, options: SimWorldOptions = {}): SimWorld {
  const loaded = typeof scenario === 'string' ? loadScenario(scenario) : parseScenario(scenario, '<inline>');
  if (options.export) loaded.scenario.agent.export = options.export;
  if (options.gateway) loaded.scenario.model.gateway = gatewayModelSchema.parse(options.gateway);
  const seed = options.seed ?? 42;
  let world: WorldStore = openWorldStore(':memory:', loaded.fixtures);
  let tools = createWorldTools({ scenario: loaded.scenario, world, seed });
  const trialOptions = async () => ({ seed, agent: options.agent ?? (await importAgent(loaded)), cli: options.cli ?? join(process.cwd(), 'dist/breakwater.cjs') });
  // lint-allow-literal-accessor: one per simulated world
  return {
    loaded,
    get tools() {
      return tools;
    },
    collection: (name) => world.list(name),
    ledger: () => world.ledger(),
    reset() {
      world.close();
      world = openWorldStore(':memory:', loaded.fixtures);
      tools = createWorldTools({ scenario: loaded.scenario, world, seed });
    },
    check: (outcome) => checkAssertions(loaded.scenario, loaded.fixtures, world, outcome),
    async trial(n = 1) {
      return runTrial(loaded, n, await trialOptions());
    },
    async run(trials = loaded.scenario.trials) {
      return runScenarioTrials(loaded, trials, await trialOptions(), 4);
    },
    close: () => world.close(),
  };
}
