import { z } from 'zod';

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v));
const range = z
  .object({ min: z.number().int().nonnegative().optional(), max: z.number().int().nonnegative().optional() })
  .strict()
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max');

/** How a rule picks among its targets (SPEC RT-9). */
export const balanceStrategySchema = z.enum(['ordered', 'weighted', 'least_inflight', 'latency', 'spillover']);

/** What a request must look like for a rule to apply; every given field must match. */
export const ruleMatchSchema = z
  .object({
    /** Requested model names (aliases). */
    model: oneOrMany.optional(),
    /** The key's organisation or team ids. */
    org: oneOrMany.optional(),
    team: oneOrMany.optional(),
    /** Tags (`x-breakwater-tags` or `metadata`) that must all be present with these values. */
    tags: z.record(z.string(), z.string()).optional(),
    /** Estimated prompt tokens (4 characters per token). */
    promptTokens: range.optional(),
    /** Whether the request offers tools. */
    tools: z.boolean().optional(),
    /** `true`/`false` for any structured output, or the kinds that match. */
    responseFormat: z.union([z.boolean(), z.array(z.enum(['json_object', 'json_schema', 'text'])).min(1)]).optional(),
    /** Number of messages in the conversation. */
    messages: range.optional(),
  })
  .strict();

/** A target: a model alias or `provider/model`, optionally weighted for `weighted`. */
export const ruleTargetSchema = z.union([
  z.string().min(1),
  z.object({ target: z.string().min(1), weight: z.number().positive() }).strict(),
]);

/** Background copies of weak-routed requests to the strong tier, and the guard over them (SPEC OW-4, RT-5). */
export const shadowSchema = z
  .object({
    /** Share of weak-served requests also sent to the strong tier (0–1). */
    share: z.number().min(0).max(1),
    /** Samples kept per deployment for the pass rate. */
    window: z.number().int().positive().default(200),
    /** No verdict before this many samples. */
    minSamples: z.number().int().positive().default(50),
    /** Below this share of agreeing samples the guard alerts. */
    minAgreement: z.number().min(0).max(1).default(0.9),
    /** Pin the route to its strong tier when the guard trips. */
    autoPin: z.boolean().default(false),
  })
  .strict();

/**
 * One routing rule (SPEC RT-1): ordered, first match wins. Built from the validator schema, which
 * lives in schema.ts (that module imports this one).
 */
export function createRoutingRuleSchema<V extends z.ZodType>(validatorSchema: V) {
  return z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'use letters, digits, ".", "_" or "-"'),
    match: ruleMatchSchema.prefault({}),
    /** Serve from these targets, balanced by `strategy`; later ones are fallbacks. */
    targets: z.array(ruleTargetSchema).min(1).optional(),
    strategy: balanceStrategySchema.default('ordered'),
    /** `spillover` (SPEC RT-12): the first target is preferred until it is this busy or this slow. */
    spillover: z
      .object({ maxInFlight: z.number().int().positive().optional(), maxTtftMs: z.number().positive().optional() })
      .strict()
      .refine((s) => s.maxInFlight !== undefined || s.maxTtftMs !== undefined, 'give maxInFlight, maxTtftMs or both')
      .optional(),
    /** Let the complexity router pick the tier; the other tier is the fallback. */
    complexity: z
      .object({ weak: oneOrMany, strong: oneOrMany, threshold: z.number().min(0).max(1).optional() })
      .strict()
      .optional(),
    /** Cheapest tier first; escalate to the next when the answer fails validation. */
    cascade: z.array(oneOrMany).min(2).optional(),
    /** Validators for this rule's answers (replace the first target's). */
    validators: z.array(validatorSchema).optional(),
    shadow: shadowSchema.optional(),
  })
  .strict()
  .refine((rule) => [rule.targets, rule.complexity, rule.cascade].filter(Boolean).length === 1, 'give exactly one of targets, complexity or cascade')
  .refine((rule) => !rule.shadow || rule.complexity || rule.cascade, 'shadow needs a weak and a strong tier: use it with complexity or cascade')
  .refine((rule) => (rule.strategy === 'spillover') === (rule.spillover !== undefined), 'strategy spillover and spillover: { maxInFlight, maxTtftMs } go together');
}

/** Validated routing rule. */
export type RoutingRule = z.infer<ReturnType<typeof createRoutingRuleSchema<z.ZodType<import('./schema.js').ValidatorConfig>>>>;
/** A rule's match conditions. */
export type RuleMatch = z.infer<typeof ruleMatchSchema>;
/** A balancing strategy. */
export type BalanceStrategy = z.infer<typeof balanceStrategySchema>;
/** Shadow and guard settings. */
export type ShadowConfig = z.infer<typeof shadowSchema>;
