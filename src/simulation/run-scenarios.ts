import { relative } from 'node:path';
import { gatewayNotes } from './gateway-model.js';
import { loadScenario, type LoadedScenario } from './load-scenario.js';
import type { GatewayModel } from './scenario-schema.js';
import { runTrial, type TrialOptions, type TrialResult } from './run-trial.js';
import { importAgent } from './sim-episode.js';
import { summarise, type ScenarioReport } from './sim-report.js';

/** How `sim run` runs scenarios. */
export interface RunScenariosOptions {
  /** Trials per scenario; defaults to each scenario's `trials`. */
  trials?: number | undefined;
  seed: number;
  /** Largest k of pass^k (default 4). */
  maxK?: number | undefined;
  /** The CLI entry crash trials spawn `sim worker` with. */
  cli: string;
  /** Send every scenario's model calls through this gateway (`sim run --gateway`), whatever the files say. */
  gateway?: GatewayModel | undefined;
  onTrial?: (scenario: string, result: TrialResult, done: number, total: number) => void;
}

/**
 * Runs every trial of every scenario, one at a time so a seed replays exactly (SPEC SIM-5):
 * each trial gets a fresh world from the scenario's fixtures and its own run store.
 */
export async function runScenarios(files: readonly string[], options: RunScenariosOptions): Promise<ScenarioReport[]> {
  const loaded: LoadedScenario[] = files.map((file) => loadScenario(file));
  if (options.gateway) for (const scenario of loaded) scenario.scenario.model.gateway = options.gateway;
  const total = loaded.reduce((sum, l) => sum + (options.trials ?? l.scenario.trials), 0);
  let done = 0;
  const reports: ScenarioReport[] = [];
  for (const scenario of loaded) {
    const trialOptions = { seed: options.seed, agent: await importAgent(scenario), cli: options.cli };
    const onTrial = (result: TrialResult) => options.onTrial?.(scenario.scenario.name, result, ++done, total);
    reports.push(await runScenarioTrials(scenario, options.trials ?? scenario.scenario.trials, trialOptions, options.maxK ?? 4, onTrial));
  }
  return reports;
}

/** Trials 1…`trials` of one scenario, one after another, summarised. */
export async function runScenarioTrials(loaded: LoadedScenario, trials: number, options: TrialOptions, maxK: number, onTrial?: (result: TrialResult) => void): Promise<ScenarioReport> {
  const results: TrialResult[] = [];
  for (let trial = 1; trial <= trials; trial++) {
    const result = await runTrial(loaded, trial, options);
    results.push(result);
    onTrial?.(result);
  }
  const file = loaded.path === '<inline>' ? loaded.path : relative(process.cwd(), loaded.path);
  const { gateway } = loaded.scenario.model;
  return summarise(loaded.scenario.name, file, results, loaded.scenario.thresholds, maxK, gateway ? gatewayNotes(loaded.scenario, gateway) : []);
}
