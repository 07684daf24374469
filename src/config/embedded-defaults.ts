import { isPlainObject, originKey, setIn, type ConfigOrigins } from './config-layers.js';

/** Simulated models always served by the built-in `sim` provider (SPEC PV-3). */
export const SIM_MODEL_NAMES = Object.freeze(['sim-fast', 'sim-smart', 'sim-reasoning', 'sim-embed', 'sim-slow'] as const);

/** Aliases added when `OPENAI_API_KEY` is set; every other OpenAI model stays reachable as `openai/<model>`. */
export const OPENAI_DEFAULT_MODELS = Object.freeze([
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4.1',
  'gpt-4.1-mini',
  'gpt-5',
  'gpt-5-mini',
  'gpt-5.4',
  'gpt-5.4-mini',
  'o4-mini',
  'text-embedding-3-small',
]);

/** Aliases added when `ANTHROPIC_API_KEY` is set (Opus 4.1 is retired on Anthropic's own API). */
export const ANTHROPIC_DEFAULT_MODELS = Object.freeze([
  'claude-opus-4-6',
  'claude-opus-4-5',
  'claude-sonnet-4-6',
  'claude-sonnet-4-5',
  'claude-haiku-4-5',
]);

const BUILT_IN = 'built-in default';
const UPSTREAM_PREFIX = 'BREAKWATER_UPSTREAM_';
const UPSTREAM_SUFFIXES = ['_KEY', '_MODELS', '_FLAVOR'] as const;

function section(raw: Record<string, unknown>, name: 'providers' | 'models'): Record<string, unknown> | undefined {
  if (raw[name] === undefined) raw[name] = {};
  // Anything else is the user's mistake, which zod reports; defaults stay out of its way.
  return isPlainObject(raw[name]) ? (raw[name] as Record<string, unknown>) : undefined;
}

function addAliases(raw: Record<string, unknown>, provider: string, models: readonly string[], origins: ConfigOrigins, origin: string): void {
  const table = section(raw, 'models');
  if (!table) return;
  for (const model of models) {
    if (table[model] !== undefined) continue;
    table[model] = `${provider}/${model}`;
    origins.set(originKey(['models', model]), origin);
  }
}

/** Adds (or completes) a keyed provider from its environment key and gives it default aliases. */
function addKeyedProvider(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  spec: { name: 'openai' | 'anthropic'; variable: string; models: readonly string[] },
  origins: ConfigOrigins,
): void {
  const apiKey = env[spec.variable];
  const providers = section(raw, 'providers');
  if (!apiKey || !providers) return;
  const origin = `env ${spec.variable}`;
  const existing = providers[spec.name];
  // The SDKs' *_BASE_URL variables are deliberately ignored: an app shell pointing them at this
  // gateway would otherwise make it call itself.
  if (existing === undefined) {
    providers[spec.name] = { kind: spec.name, apiKey };
    origins.set(originKey(['providers', spec.name]), origin);
  } else if (isPlainObject(existing) && existing.kind === spec.name && existing.apiKey === undefined) {
    existing.apiKey = apiKey;
    origins.set(originKey(['providers', spec.name, 'apiKey']), origin);
  } else if (!isPlainObject(existing) || existing.kind !== spec.name) {
    return;
  }
  addAliases(raw, spec.name, spec.models, origins, origin);
}

/**
 * The defaults that depend on the environment (SPEC PV-3): `sim` with its models always, OpenAI
 * and Anthropic when their keys are set. Only fills what the configuration left undefined.
 */
export function applyEmbeddedDefaults(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, origins: ConfigOrigins): void {
  const providers = section(raw, 'providers');
  if (!providers) return;
  if (providers.sim === undefined) {
    providers.sim = { kind: 'sim' };
    origins.set(originKey(['providers', 'sim']), BUILT_IN);
  }
  if (isPlainObject(providers.sim) && providers.sim.kind === 'sim') addAliases(raw, 'sim', SIM_MODEL_NAMES, origins, BUILT_IN);
  addKeyedProvider(raw, env, { name: 'openai', variable: 'OPENAI_API_KEY', models: OPENAI_DEFAULT_MODELS }, origins);
  addKeyedProvider(raw, env, { name: 'anthropic', variable: 'ANTHROPIC_API_KEY', models: ANTHROPIC_DEFAULT_MODELS }, origins);
}

/**
 * `BREAKWATER_UPSTREAM_<NAME>=<url>` (+ `_KEY`, `_MODELS`, `_FLAVOR`) as an `openai-compatible`
 * provider named `<name>` lowercased with `_` → `-`. A variable ending in a suffix is an attribute
 * only when the variable without it exists, so an upstream may itself be called `…_KEY`.
 */
export function applyUpstreamEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, origins: ConfigOrigins): void {
  const names = Object.keys(env).filter((name) => name.startsWith(UPSTREAM_PREFIX) && env[name] !== undefined).sort();
  const isAttribute = (name: string) =>
    UPSTREAM_SUFFIXES.some((suffix) => name.endsWith(suffix) && env[name.slice(0, -suffix.length)] !== undefined);
  for (const variable of names) {
    if (isAttribute(variable) || variable.length === UPSTREAM_PREFIX.length) continue;
    const name = variable.slice(UPSTREAM_PREFIX.length).toLowerCase().replace(/_/g, '-');
    const set = (field: string, value: unknown, from: string) => {
      setIn(raw, ['providers', name, field], value);
      origins.set(originKey(['providers', name, field]), `env ${from}`);
    };
    set('kind', 'openai-compatible', variable);
    set('baseUrl', env[variable], variable);
    const apiKey = env[`${variable}_KEY`];
    if (apiKey) set('apiKey', apiKey, `${variable}_KEY`);
    const models = env[`${variable}_MODELS`];
    if (models) set('models', models.split(',').map((m) => m.trim()).filter(Boolean), `${variable}_MODELS`);
    const flavor = env[`${variable}_FLAVOR`];
    if (flavor) set('flavor', flavor.trim().toLowerCase(), `${variable}_FLAVOR`);
  }
}
