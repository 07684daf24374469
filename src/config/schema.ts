import { z } from 'zod';
import { CronSchedule } from '../core/cron-schedule.js';
import { createRoutingRuleSchema } from './routing-schema.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

/**
 * A settings group whose fields may each be overridden at a narrower level. `fields` has no
 * defaults (zod's `.partial()` would still fill them in, and an override would then reset every
 * field); the full schema applies `defaults` under whatever was given.
 */
function settingsGroup<Shape extends z.ZodRawShape, Defaults extends { [K in keyof Shape]?: z.output<Shape[K]> }>(shape: Shape, defaults: Defaults) {
  const overrides = z.object(shape).partial().strict();
  const full = overrides.transform((given) => ({ ...defaults, ...stripUndefined(given) }) as Defaults & z.output<typeof overrides>).prefault(() => ({}) as z.input<typeof overrides>);
  return { overrides, full };
}

function stripUndefined<T extends object>(value: T): T {
  const out = {} as T;
  for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

const timeouts = settingsGroup(
  { connectMs: positiveInt, headersMs: positiveInt, firstTokenMs: positiveInt, idleMs: positiveInt, totalMs: positiveInt },
  { connectMs: 10_000, headersMs: 30_000, firstTokenMs: 30_000, idleMs: 30_000, totalMs: 600_000 },
);
/** Per-attempt upstream timeouts (SPEC UP-4, defaults from SPEC §5). */
export const timeoutsSchema = timeouts.full;

const retry = settingsGroup(
  {
    /** Attempts per request across all candidates, first one included. */
    maxAttempts: positiveInt,
    /** Attempts on one deployment before moving to the next candidate. */
    maxAttemptsPerDeployment: positiveInt,
    baseMs: positiveInt,
    capMs: positiveInt,
    /** A wait (backoff or Retry-After) longer than this moves on instead of waiting. */
    maxWaitMs: nonNegativeInt,
    /** Retries per deployment may be at most this share of first attempts over `ratioWindowMs`… */
    ratio: z.number().min(0).max(1),
    ratioWindowMs: positiveInt,
    /** …but at least this many per window. */
    ratioFloor: nonNegativeInt,
    /** Stop trying once estimated spend on failed attempts of one request passes this (micro-USD). */
    maxSpendMicros: nonNegativeInt,
  },
  { maxAttempts: 3, maxAttemptsPerDeployment: 2, baseMs: 500, capMs: 30_000, maxWaitMs: 30_000, ratio: 0.1, ratioWindowMs: 60_000, ratioFloor: 10 },
);
/** Retries and their budget (SPEC UP-5, UP-6, UP-7; defaults from SPEC §5). */
export const retrySchema = retry.full;

const breaker = settingsGroup(
  {
    enabled: z.boolean(),
    windowMs: positiveInt,
    minCalls: positiveInt,
    failureRatio: z.number().gt(0).max(1),
    openMs: positiveInt,
    maxOpenMs: positiveInt,
    halfOpenProbes: positiveInt,
    /** Open when the p95 time to first token over the window passes this (off when absent). */
    ttftP95Ms: positiveInt,
    /** Open when the share of stalled streams passes this. */
    stallRatio: z.number().gt(0).max(1),
  },
  { enabled: true, windowMs: 60_000, minCalls: 20, failureRatio: 0.5, openMs: 10_000, maxOpenMs: 30_000, halfOpenProbes: 3, stallRatio: 0.05 },
);
/** Circuit breaker per deployment (SPEC UP-2, UP-3, UP-14). */
export const breakerSchema = breaker.full;

/** One semantic validator (SPEC UP-16). */
export const validatorSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('non_empty') }).strict(),
  z.object({ type: z.literal('json') }).strict(),
  z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()).optional() }).strict(),
  z.object({ type: z.literal('finish_reason'), allow: z.array(z.string()).default(['stop', 'tool_calls']) }).strict(),
  z.object({ type: z.literal('refusal') }).strict(),
  z.object({ type: z.literal('regex'), pattern: z.string(), flags: z.string().optional() }).strict(),
  z.object({ type: z.literal('deny_regex'), pattern: z.string(), flags: z.string().optional() }).strict(),
  z.object({ type: z.literal('max_chars'), max: positiveInt }).strict(),
  z.object({ type: z.literal('tool_args') }).strict(),
  z.object({ type: z.literal('custom'), module: z.string().min(1), timeoutMs: positiveInt.default(1_000) }).strict(),
]);

/** Resilience settings; route defaults, overridable per model alias and per deployment. */
export const resilienceSchema = z
  .object({
    timeouts: timeouts.overrides.optional(),
    retry: retry.overrides.optional(),
    breaker: breaker.overrides.optional(),
    /** Validators every answer must pass; `auto` adds the ones the request implies (JSON, schema, tool args). */
    validators: z.array(validatorSchema).optional(),
    autoValidators: z.boolean().optional(),
    /** Hedging (SPEC UP-17): without a first token after `afterMs`, start the next candidate too. */
    hedge: z.object({ afterMs: positiveInt }).strict().optional(),
    /** A model alias with a larger context window to try on `context_length_exceeded`. */
    contextFallback: z.string().min(1).optional(),
    /** The request deadline; `x-breakwater-timeout-ms` may shorten it, never lengthen it. */
    deadlineMs: positiveInt.optional(),
    /** Stream from upstreams even for non-streamed requests, so first-token and idle timeouts apply. */
    streamUpstream: z.boolean().optional(),
    /** Degeneration guard (SPEC SA-7): cut output that loops or runs past `maxChars`; off when absent. */
    degeneration: z
      .object({ windowTokens: positiveInt.optional(), repeats: positiveInt.optional(), maxChars: positiveInt.optional() })
      .strict()
      .optional(),
    /** Concurrency cap per deployment and its queue (SPEC UP-15); off when absent. */
    bulkhead: z.object({ maxConcurrent: positiveInt, maxQueue: nonNegativeInt.default(0) }).strict().optional(),
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
    timeouts: timeouts.overrides.optional(),
    /** Anthropic API version header. */
    apiVersion: z.string().optional(),
    /**
     * Active health check of a self-hosted target (issue 8): its model list is fetched every
     * `intervalMs`; a failure opens the breakers of its deployments so traffic spills elsewhere.
     */
    healthCheck: z.object({ intervalMs: positiveInt.default(10_000), timeoutMs: positiveInt.default(2_000) }).strict().optional(),
    /**
     * Keep-warm (SPEC CS-4): the upstream's model list is fetched every `intervalMs` (default 30 s)
     * or on a five-field UTC `cron` schedule, so its connection pool, TLS session and a
     * scale-to-zero upstream stay awake between requests.
     */
    keepWarm: z
      .object({ intervalMs: positiveInt.optional(), cron: z.string().optional(), timeoutMs: positiveInt.default(10_000) })
      .strict()
      .superRefine((value, ctx) => {
        if (value.intervalMs !== undefined && value.cron !== undefined) ctx.addIssue({ code: 'custom', path: ['cron'], message: 'give intervalMs or cron, not both' });
        if (value.cron === undefined) return;
        try {
          CronSchedule.parse(value.cron);
        } catch (error) {
          ctx.addIssue({ code: 'custom', path: ['cron'], message: `not a cron schedule: ${(error as Error).message}` });
        }
      })
      .optional(),
    /** Fixed monthly costs of a self-hosted deployment, USD (SPEC OW-2): reports show its effective price per 1M tokens. */
    monthlyCosts: z
      .object({ gpu: z.number().nonnegative().optional(), operations: z.number().nonnegative().optional(), overhead: z.number().nonnegative().optional(), power: z.number().nonnegative().optional() })
      .strict()
      .optional(),
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
    /** Per-deployment retry overrides (each fallback target has its own policy, SPEC UP-9). */
    retry: retry.overrides.optional(),
  })
  .strict();

/** A public model name mapped to ordered deployments; a string is shorthand for `provider/model`. */
export const modelSchema = z.union([
  z.string().regex(/^[^/\s]+\/.+$/, 'use "provider/model"'),
  z.object({ deployments: z.array(deploymentSchema).min(1), description: z.string().optional() }).merge(resilienceSchema).strict(),
]);

/** Capacity an upstream deployment can take (SPEC MT-4, MT-10); absent fields are unlimited. */
export const deploymentCapacitySchema = z
  .object({
    concurrency: positiveInt.optional(),
    rpm: positiveInt.optional(),
    tpm: positiveInt.optional(),
  })
  .strict();

/** Tenancy: token estimates, budgets and alerts (SPEC MT-5, MT-6; defaults from SPEC §5). */
export const tenancySchema = z
  .object({
    /** Output tokens reserved when a request sets no `max_tokens`. */
    defaultOutputTokens: positiveInt.default(1_024),
    /** Share of a budget cap at which the soft alert fires, unless a principal sets its own. */
    softThreshold: z.number().gt(0).max(1).default(0.8),
    /** IANA time zone of daily and monthly budget periods. */
    timezone: z
      .string()
      .default('UTC')
      .refine((zone) => {
        // The default needs no check, and checking loads ICU's time zone data (~8 ms at boot, SPEC PERF-3).
        if (zone === 'UTC') return true;
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, 'unknown time zone; use an IANA name such as UTC or Europe/Berlin'),
    /** How long a principal chain is trusted without the store; bounds how fast admin changes apply. */
    cacheTtlMs: positiveInt.default(5_000),
    /** Soft budget alerts are POSTed here, HMAC-signed with `secret`; the URL must be on `allowedUrls`. */
    webhook: z
      .object({
        url: z.url(),
        secret: z.string().min(16),
        allowedUrls: z.array(z.url()).min(1),
        timeoutMs: positiveInt.default(5_000),
      })
      .strict()
      .refine((hook) => hook.allowedUrls.some((allowed) => hook.url.startsWith(allowed)), {
        message: 'webhook.url is not on webhook.allowedUrls',
        path: ['url'],
      })
      .optional(),
  })
  .strict()
  .prefault({});

/** Priority lanes (SPEC MT-4; defaults from SPEC §5). */
export const lanesSchema = z
  .object({
    /** Largest share of a deployment's capacity batch requests may hold. */
    batchShare: z.number().gt(0).max(1).default(0.5),
    /** How long a request may wait for capacity before 429 `queue_timeout`, per lane. */
    interactiveQueueMs: nonNegativeInt.default(500),
    batchQueueMs: nonNegativeInt.default(30_000),
    /** Waiting requests per deployment beyond which new ones are refused at once. */
    maxQueue: nonNegativeInt.default(1_000),
    /** Capacity per deployment (`provider/model`); deployments not listed are not gated. */
    capacity: z.record(z.string().regex(/^[^/\s]+\/.+$/, 'use "provider/model"'), deploymentCapacitySchema).default({}),
  })
  .strict()
  .prefault({});

/** The whole configuration file (SPEC OPS-1). Later issues add routes, runs, alerts. */
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
        /** A request to a provider idle this long is tagged `cold` in the ledger, metrics and access log (SPEC CS-3). */
        coldAfterIdleMs: positiveInt.default(60_000),
        /** After ready, fetch each HTTP provider's model list once and load the tokenizer when idle, so early requests find them warm (SPEC CS-2). */
        warmUp: z.boolean().default(true),
        /** With `warmUp`, the tokenizer loads once no request arrived or ran for this long (at most 10 s after ready). */
        warmUpQuietMs: positiveInt.default(200),
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
    shared: z
      .object({
        /** `redis://host:port[/db]`: limits, stream logs, idempotency, breakers and signals shared by replicas (SPEC STO-3). */
        redis: z.string().optional(),
        /** Prefix of every Redis key, so several deployments (or tests) can share one Redis. */
        keyPrefix: z.string().default('bw:'),
        /** Replicas sharing the limits; on a Redis outage each enforces `limit ÷ replicas` locally (SPEC MT-14). */
        replicas: positiveInt.default(1),
        /** What to do while Redis is unreachable (SPEC MT-14); recovery needs no restart. */
        outage: z
          .object({
            limits: z.enum(['local', 'open', 'closed']).default('local'),
            budgets: z.enum(['closed', 'open']).default('closed'),
          })
          .strict()
          .prefault({}),
        /** A producer's stream lease; another replica ends a stream whose lease lapsed (SPEC ST-14). */
        streamLeaseMs: positiveInt.default(5_000),
      })
      .strict()
      .prefault({}),
    providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i), providerSchema).default({}),
    models: z.record(z.string().min(1), modelSchema).default({}),
    routes: z
      .object({
        defaults: z
          .object({
            timeouts: timeoutsSchema,
            retry: retrySchema,
            breaker: breakerSchema,
            validators: z.array(validatorSchema).default([]),
            autoValidators: z.boolean().default(true),
            deadlineMs: positiveInt.default(600_000),
            streamUpstream: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
        idempotency: z.object({ ttlMs: positiveInt.default(86_400_000) }).strict().prefault({}),
        /** Routing rules, first match wins (SPEC RT-1); ids must be unique. */
        rules: z
          .array(createRoutingRuleSchema(validatorSchema))
          .default([])
          .refine((rules) => new Set(rules.map((r) => r.id)).size === rules.length, 'rule ids must be unique'),
      })
      .strict()
      .prefault({}),
    stream: z
      .object({
        heartbeatMs: positiveInt.default(15_000),
        earlyCommitMs: positiveInt.default(1_000),
        /** A resumable stream with no subscriber for this long is cancelled (SPEC ST-3, ST-11). */
        detachGraceMs: positiveInt.default(60_000),
        /** How long a finished stream's events (and a stored response) stay readable (SPEC ST-13). */
        retentionMs: positiveInt.default(86_400_000),
        /** A subscriber this many events behind while its socket is full is closed; it may resume (SPEC ST-9). */
        subscriberQueueEvents: positiveInt.default(1_000),
        /** At most this many clients read one stream at once (SPEC ST-9). */
        maxSubscribers: positiveInt.default(16),
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
    tenancy: tenancySchema,
    lanes: lanesSchema,
    runs: z
      .object({
        /** A run owner that stops renewing for this long loses it to another worker (SPEC LR-6). */
        leaseMs: positiveInt.default(30_000),
        heartbeatMs: positiveInt.default(10_000),
        /** How often a worker looks for runnable runs and cancel requests. */
        pollMs: positiveInt.default(250),
        /** A `cancel`-policy run with no subscriber for this long is cancelled (SPEC ST-3). */
        detachGraceMs: positiveInt.default(60_000),
        /** A larger step output fails the step with `payload_too_large` (SPEC LR-14). */
        stepOutputMaxBytes: positiveInt.default(1024 * 1024),
        /** `run.stalled` after this long without an event (SPEC ST-7). */
        stallMs: positiveInt.default(120_000),
        /** Runs one worker executes at once. */
        concurrency: positiveInt.default(16),
        /** A module exporting agents, loaded by `breakwater start` and `breakwater worker` (SPEC LR-10). */
        agents: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
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
/** Retry settings. */
export type RetryConfig = z.infer<typeof retrySchema>;
/** Breaker settings. */
export type BreakerConfig = z.infer<typeof breakerSchema>;
/** One validator's settings. */
export type ValidatorConfig = z.infer<typeof validatorSchema>;
/** Per-alias resilience overrides. */
export type ResilienceConfig = z.infer<typeof resilienceSchema>;
/** Tenancy settings. */
export type TenancyConfig = z.infer<typeof tenancySchema>;
/** Lane settings. */
export type LanesConfig = z.infer<typeof lanesSchema>;
/** Prices per 1M tokens. */
export type PriceConfig = z.infer<typeof priceSchema>;
