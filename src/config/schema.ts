import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/** Per-attempt upstream timeouts (SPEC UP-4, defaults from SPEC §5). */
export const timeoutsSchema = z
  .object({
    connectMs: positiveInt.default(10_000),
    headersMs: positiveInt.default(30_000),
    firstTokenMs: positiveInt.default(30_000),
    idleMs: positiveInt.default(30_000),
    totalMs: positiveInt.default(600_000),
  })
  .strict();

/** Named hooks of the OpenAI-compatible base adapter, one per server family. */
export const compatFlavorSchema = z.enum(['openai', 'vllm', 'ollama', 'llamacpp', 'tgi', 'sglang', 'groq', 'together', 'generic']);

/** One upstream provider. */
export const providerSchema = z
  .object({
    kind: z.enum(['openai', 'anthropic', 'openai-compatible', 'sim']),
    /** Base URL up to and including the version segment, e.g. https://api.openai.com/v1. */
    baseUrl: z.url().optional(),
    apiKey: z.string().min(1).optional(),
    flavor: compatFlavorSchema.optional(),
    /** Extra headers sent upstream on every call (e.g. an organisation id). */
    headers: z.record(z.string(), z.string()).optional(),
    /** Models this upstream serves; for `openai-compatible` without a list they are discovered. */
    models: z.array(z.string().min(1)).optional(),
    maxConnections: positiveInt.default(128),
    timeouts: timeoutsSchema.partial().optional(),
    /** Anthropic API version header. */
    apiVersion: z.string().optional(),
  })
  .strict();

/** Prices in USD per 1M tokens (SPEC PV-6). */
export const priceSchema = z
  .object({
    input: z.number().nonnegative().optional(),
    output: z.number().nonnegative().optional(),
    cacheRead: z.number().nonnegative().optional(),
    cacheWrite: z.number().nonnegative().optional(),
    reasoning: z.number().nonnegative().optional(),
    perRequest: z.number().nonnegative().optional(),
  })
  .strict();

/** One place a model alias can be served. */
export const deploymentSchema = z
  .object({
    provider: z.string().min(1),
    model: z.string().min(1),
    weight: z.number().positive().default(1),
    region: z.string().optional(),
    contextWindow: positiveInt.optional(),
    maxOutputTokens: positiveInt.optional(),
    capabilities: z.array(z.enum(['tools', 'vision', 'json_schema', 'json_object', 'reasoning', 'embeddings', 'streaming'])).optional(),
    prices: priceSchema.optional(),
  })
  .strict();

/** A public model name mapped to ordered deployments; a string is shorthand for `provider/model`. */
export const modelSchema = z.union([
  z.string().regex(/^[^/\s]+\/.+$/, 'use "provider/model"'),
  z.object({ deployments: z.array(deploymentSchema).min(1), description: z.string().optional() }).strict(),
]);

/** The whole configuration file (SPEC OPS-1). Later issues add routes, tenancy, lanes, runs, alerts. */
export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8400),
        maxBodyBytes: positiveInt.default(8 * 1024 * 1024),
        keepAliveTimeoutMs: positiveInt.default(65_000),
        headersTimeoutMs: positiveInt.default(66_000),
        /** Time to receive a whole request body. */
        requestTimeoutMs: positiveInt.default(300_000),
        drainMs: nonNegativeInt.default(30_000),
        dataDir: z.string().default('.breakwater'),
        logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        accessLog: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        kind: z.enum(['sqlite', 'memory', 'postgres']).default('sqlite'),
        url: z.string().optional(),
      })
      .strict()
      .prefault({}),
    shared: z.object({ redis: z.string().optional() }).strict().prefault({}),
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i), providerSchema).default({}),
    models: z.record(z.string().min(1), modelSchema).default({}),
    routes: z
      .object({ defaults: z.object({ timeouts: timeoutsSchema.prefault({}) }).strict().prefault({}) })
      .strict()
      .prefault({}),
    stream: z
      .object({
        heartbeatMs: positiveInt.default(15_000),
        earlyCommitMs: positiveInt.default(1_000),
      })
      .strict()
      .prefault({}),
    sim: z
      .object({
        seed: z.number().int().default(42),
        /** Multiplies simulated latencies; 0 makes the simulator answer instantly. */
        timeScale: z.number().nonnegative().default(1),
      })
      .strict()
      .prefault({}),
    tenancy: z.unknown().optional(),
    lanes: z.unknown().optional(),
    runs: z.unknown().optional(),
    alerts: z.unknown().optional(),
  })
  .strict();

/** Validated configuration. */
export type Config = z.infer<typeof configSchema>;
/** One provider's validated configuration. */
export type ProviderConfig = z.infer<typeof providerSchema>;
/** One deployment's validated configuration. */
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
/** Attempt timeouts. */
export type TimeoutsConfig = z.infer<typeof timeoutsSchema>;
/** Prices per 1M tokens. */
export type PriceConfig = z.infer<typeof priceSchema>;
