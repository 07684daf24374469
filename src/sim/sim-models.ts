/** What a simulated model can do; the same names deployments use in config. */
export type SimCapability = 'tools' | 'vision' | 'json_schema' | 'json_object' | 'reasoning' | 'embeddings' | 'streaming';

/** USD per 1M tokens of each kind (SPEC PV-6 shape). */
export interface SimPrices {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite?: number;
}

/** A simulated model: timing, limits, capabilities and real-tier prices (SPEC SIM-8). */
export interface SimModel {
  readonly name: string;
  readonly kind: 'chat' | 'embedding';
  /** Median time to first token, before jitter and time scaling. */
  readonly ttftMs: number;
  readonly tokensPerSecond: number;
  /** Relative jitter applied to every delay, e.g. 0.1 = ±10%. */
  readonly jitter: number;
  readonly contextWindow: number;
  readonly maxOutputTokens: number;
  readonly capabilities: readonly SimCapability[];
  readonly prices: Readonly<SimPrices>;
  /** Chat models that think first: reasoning deltas precede the answer. */
  readonly reasoning?: boolean;
  /** Embedding width. */
  readonly dimensions?: number;
}

const CHAT_CAPABILITIES = Object.freeze(['tools', 'vision', 'json_schema', 'json_object', 'streaming'] as const);

function model(spec: SimModel): Readonly<SimModel> {
  return Object.freeze({ ...spec, prices: Object.freeze({ ...spec.prices }), capabilities: Object.freeze([...spec.capabilities]) });
}

/** The simulated models, by name. Prices mirror real tiers (mini, mid, reasoning-mini, small embedding). */
export const SIM_MODELS: Readonly<Record<string, Readonly<SimModel>>> = Object.freeze({
  'sim-fast': model({
    name: 'sim-fast',
    kind: 'chat',
    ttftMs: 150,
    tokensPerSecond: 120,
    jitter: 0.1,
    contextWindow: 128_000,
    maxOutputTokens: 16_384,
    capabilities: CHAT_CAPABILITIES,
    prices: { input: 0.15, output: 0.6, cacheRead: 0.075 },
  }),
  'sim-smart': model({
    name: 'sim-smart',
    kind: 'chat',
    ttftMs: 400,
    tokensPerSecond: 60,
    jitter: 0.15,
    contextWindow: 200_000,
    maxOutputTokens: 32_768,
    capabilities: CHAT_CAPABILITIES,
    prices: { input: 2.5, output: 10, cacheRead: 1.25, cacheWrite: 3.125 },
  }),
  'sim-reasoning': model({
    name: 'sim-reasoning',
    kind: 'chat',
    ttftMs: 1_200,
    tokensPerSecond: 80,
    jitter: 0.15,
    contextWindow: 200_000,
    maxOutputTokens: 100_000,
    capabilities: [...CHAT_CAPABILITIES, 'reasoning'],
    prices: { input: 1.1, output: 4.4, cacheRead: 0.275 },
    reasoning: true,
  }),
  'sim-embed': model({
    name: 'sim-embed',
    kind: 'embedding',
    ttftMs: 50,
    tokensPerSecond: 10_000,
    jitter: 0.1,
    contextWindow: 8_191,
    maxOutputTokens: 0,
    capabilities: ['embeddings'],
    prices: { input: 0.02, output: 0, cacheRead: 0 },
    dimensions: 256,
  }),
  'sim-slow': model({
    name: 'sim-slow',
    kind: 'chat',
    ttftMs: 1_000,
    tokensPerSecond: 10,
    jitter: 0.05,
    contextWindow: 32_768,
    maxOutputTokens: 4_096,
    capabilities: ['tools', 'json_schema', 'json_object', 'streaming'],
    prices: { input: 0.5, output: 1.5, cacheRead: 0.25 },
  }),
});

/** Every simulated model name. */
export const SIM_MODEL_NAMES: readonly string[] = Object.freeze(Object.keys(SIM_MODELS));

/** The simulated model of that name (a `@fault` suffix is ignored), or undefined. */
export function getSimModel(name: string): Readonly<SimModel> | undefined {
  const base = splitSimModelName(name).model;
  return Object.hasOwn(SIM_MODELS, base) ? SIM_MODELS[base] : undefined;
}

/** Splits `sim-fast@503:times=2` into the model and its fault spec (SPEC SIM-10). */
export function splitSimModelName(name: string): { model: string; faultSpec?: string } {
  const at = name.indexOf('@');
  if (at < 0) return { model: name };
  const faultSpec = name.slice(at + 1);
  return faultSpec ? { model: name.slice(0, at), faultSpec } : { model: name.slice(0, at) };
}
