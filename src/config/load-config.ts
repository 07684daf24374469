import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { readConfigFile, type ConfigFile } from './config-file.js';
import { issuesFromZod, type ConfigLocator } from './config-issues.js';
import { applyEnvironment, applyOverrides, originOf, type ConfigOrigins } from './config-layers.js';
import { applyEmbeddedDefaults, applyUpstreamEnvironment } from './embedded-defaults.js';
import { closestMatch } from './schema-paths.js';
import { configSchema, type Config } from './schema.js';

export { ConfigError, formatConfigError, formatConfigPath, isConfigError, type ConfigIssue } from './config-error.js';
export { listModels, resolveModel, type ResolvedDeployment, type ResolvedModel } from './resolve-model.js';
export { maskSecret, redactConfig } from './redact-config.js';
export { ANTHROPIC_DEFAULT_MODELS, OPENAI_DEFAULT_MODELS, SIM_MODEL_NAMES } from './embedded-defaults.js';

/** Every property optional, all the way down; arrays are replaced whole. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Values from command-line flags: the highest-precedence layer. */
export type ConfigOverrides = DeepPartial<z.input<typeof configSchema>>;

/** Where the configuration comes from. */
export interface LoadConfigOptions {
  /** A YAML file that must exist; else `BREAKWATER_CONFIG`, else `./breakwater.yaml` when present. */
  path?: string;
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
  /** Where `./breakwater.yaml` is looked for; defaults to the working directory. */
  cwd?: string;
}

const DEFAULT_FILE = 'breakwater.yaml';

function findConfigFile(options: LoadConfigOptions, env: NodeJS.ProcessEnv): { path: string; display: string } | undefined {
  const explicit = options.path ?? env.BREAKWATER_CONFIG;
  if (explicit) return { path: resolve(options.cwd ?? process.cwd(), explicit), display: explicit };
  const fallback = resolve(options.cwd ?? process.cwd(), DEFAULT_FILE);
  return existsSync(fallback) ? { path: fallback, display: DEFAULT_FILE } : undefined;
}

/** Models whose deployments name a provider that is not configured: a typo that would otherwise 404 at run time. */
function referenceIssues(config: Config, locate: ConfigLocator): ConfigIssue[] {
  const known = Object.keys(config.providers);
  const issues: ConfigIssue[] = [];
  const check = (provider: string, path: Array<string | number>) => {
    if (Object.hasOwn(config.providers, provider)) return;
    const suggestion = closestMatch(provider, known);
    const hint = suggestion ? `did you mean "${suggestion}"?` : `add "${provider}" under providers: (configured: ${known.join(', ')})`;
    issues.push({ path, message: `provider "${provider}" is not configured`, hint, location: locate(path) });
  };
  for (const [name, entry] of Object.entries(config.models)) {
    if (typeof entry === 'string') check(entry.slice(0, entry.indexOf('/')), ['models', name]);
    else entry.deployments.forEach((d, i) => check(d.provider, ['models', name, 'deployments', i, 'provider']));
  }
  return issues;
}

/**
 * Loads the configuration (SPEC OPS-1): defaults < `breakwater.yaml` < `BREAKWATER_*` (`__`
 * nests) < overrides, then the environment-driven defaults of SPEC PV-3. Throws a
 * {@link ConfigError} naming file, line, path and fix for anything invalid.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const origins: ConfigOrigins = new Map();
  const source = findConfigFile(options, env);
  const file: ConfigFile | undefined = source && readConfigFile(source.path, source.display, env);
  const raw: Record<string, unknown> = file?.raw ?? {};
  applyEnvironment(configSchema, raw, env, origins);
  applyUpstreamEnvironment(raw, env, origins);
  applyOverrides(raw, options.overrides, origins);
  applyEmbeddedDefaults(raw, env, origins);
  const locate: ConfigLocator = (path, locateOptions) => originOf(origins, path) ?? file?.locate(path, locateOptions);
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(issuesFromZod(result.error.issues, { root: configSchema, raw, locate }));
  }
  const problems = referenceIssues(result.data, locate);
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}
