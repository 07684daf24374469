import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import { readConfigFile } from '../config/config-file.js';
import { issuesFromZod } from '../config/config-issues.js';
import { scenarioSchema, type Scenario } from './scenario-schema.js';

/** A world document: any JSON object with a string `id`. */
export type WorldDoc = Record<string, unknown> & { id: string };

/** A validated scenario with its fixtures read and the paths it names resolved. */
export interface LoadedScenario {
  scenario: Scenario;
  /** Absolute path of the scenario file (or `<inline>`). */
  path: string;
  /** Absolute path of the agent module. */
  agentModule: string;
  /** The starting world, by collection. */
  fixtures: Record<string, WorldDoc[]>;
}

function parseFixtureFile(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.jsonl')) return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error('a JSON fixture must be an array of objects');
  return parsed;
}

function readFixtures(scenario: Scenario, dir: string, locate: (path: ReadonlyArray<string | number>) => string | undefined): Record<string, WorldDoc[]> {
  const issues: ConfigIssue[] = [];
  const fixtures: Record<string, WorldDoc[]> = {};
  for (const [collection, source] of Object.entries(scenario.world)) {
    let docs: unknown[];
    try {
      docs = Array.isArray(source) ? source : parseFixtureFile(resolve(dir, source.file));
    } catch (error) {
      issues.push({ path: ['world', collection], message: `cannot read fixture: ${(error as Error).message}`, hint: 'give a JSON array or JSONL file relative to the scenario', location: locate(['world', collection]) });
      continue;
    }
    const bad = docs.findIndex((doc) => typeof doc !== 'object' || doc === null || typeof (doc as WorldDoc).id !== 'string');
    if (bad >= 0) {
      issues.push({ path: ['world', collection, bad], message: 'every document needs a string "id"', hint: 'add id: "…"', location: locate(['world', collection, bad]) });
      continue;
    }
    fixtures[collection] = docs as WorldDoc[];
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return fixtures;
}

/** Validates raw scenario data; `locate` maps a path to `file:line:col`. */
export function parseScenario(raw: unknown, path: string, locate: (path: ReadonlyArray<string | number>) => string | undefined = () => undefined): LoadedScenario {
  const result = scenarioSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(issuesFromZod(result.error.issues, { root: scenarioSchema, raw, locate }));
  const dir = path === '<inline>' ? process.cwd() : dirname(path);
  const scenario = result.data;
  return { scenario, path, agentModule: resolve(dir, scenario.agent.module), fixtures: readFixtures(scenario, dir, locate) };
}

/**
 * Reads a scenario YAML file (SPEC SIM-13). Every problem is a {@link ConfigError} naming file,
 * line, path and fix, like `breakwater.yaml`.
 */
export function loadScenario(file: string): LoadedScenario {
  const path = resolve(file);
  const display = relative(process.cwd(), path) || path;
  const parsed = readConfigFile(path, display, process.env);
  return parseScenario(parsed.raw, path, (target) => parsed.locate(target));
}
