import { relative } from 'node:path';
import { loadScenario, type LoadedScenario } from './load-scenario.js';
import { runTrial, type TrialResult } from './run-trial.js';
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
  onTrial?: (scenario: string, result: TrialResult, done: number, total: number) => void;
}

/**
 * Runs every trial of every scenario, one at a time so a seed replays exactly (SPEC SIM-5):
 * each trial gets a fresh world from the scenario's fixtures and its own run store.
 */
export async function runScenarios(files: readonly string[], options: RunScenariosOptions): Promise<ScenarioReport[]> {
  const loaded: LoadedScenario[] = files.map((file) => loadScenario(file));
  const total = loaded.reduce((sum, l) => sum + (options.trials ?? l.scenario.trials), 0);
  let done = 0;
  const reports: ScenarioReport[] = [];
  for (const scenario of loaded) {
    const agent = await importAgent(scenario);
    const results: TrialResult[] = [];
    const trials = options.trials ?? scenario.scenario.trials;
    for (let trial = 1; trial <= trials; trial++) {
      const result = await runTrial(scenario, trial, { seed: options.seed, agent, cli: options.cli });
      results.push(result);
      options.onTrial?.(scenario.scenario.name, result, ++done, total);
    }
    reports.push(summarise(scenario.scenario.name, relative(process.cwd(), scenario.path), results, scenario.scenario.thresholds, options.maxK ?? 4));
  }
  return reports;
}
