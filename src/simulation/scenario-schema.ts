import { z } from 'zod';
import { priceSchema } from '../config/schema.js';
import { parseSimFault } from '../sim/sim-fault.js';

const name = z.string().min(1);
const probability = z.number().min(0).max(1);
/** A JSON object whose fields a document must equal (`{ status: expired }`). */
const filter = z.record(z.string(), z.unknown());

/** Fixtures of one collection: inline documents (each with an `id`) or a JSON / JSONL file. */
const collectionSchema = z.union([z.array(z.record(z.string(), z.unknown())), z.object({ file: name }).strict()]);

/** When a tool fault fires: on every call, by seeded probability, or on the nth call(s). */
const firing = {
  p: probability.optional(),
  times: z.number().int().positive().optional(),
  nth: z.array(z.number().int().positive()).optional(),
};

const toolFaultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('latency'), tool: name, ms: z.number().int().nonnegative(), ...firing }).strict(),
  z.object({ kind: z.literal('error'), tool: name, status: z.number().int().min(400).max(599).default(503), ...firing }).strict(),
  /** The tool answers from an older version of the world: these fields patched over the listed documents. */
  z.object({ kind: z.literal('stale'), tool: name, patch: z.record(z.string(), filter), ...firing }).strict(),
]);

const effectAssertionSchema = z
  .object({
    tool: name,
    /** Only effects whose arguments contain these fields count. */
    where: filter.optional(),
    exactly: z.number().int().nonnegative().optional(),
    atMost: z.number().int().nonnegative().optional(),
    atLeast: z.number().int().nonnegative().optional(),
    /** No two effects share this argument's value. */
    uniqueBy: name.optional(),
  })
  .strict();

const worldAssertionSchema = z
  .object({
    collection: name,
    id: name.optional(),
    /** Fields the document (or every document matching `where`) must have. */
    expect: filter.optional(),
    where: filter.optional(),
    count: z.number().int().nonnegative().optional(),
    exists: z.boolean().optional(),
  })
  .strict();

const scriptTurnSchema = z
  .object({
    model: name.optional(),
    /** A regular expression the last user message must match. */
    message: name.optional(),
    /** 1 for the conversation's first assistant turn. */
    turn: z.number().int().positive().optional(),
    reply: z
      .object({
        text: z.string().optional(),
        json: z.unknown().optional(),
        toolCalls: z.array(z.object({ name, arguments: z.union([z.record(z.string(), z.unknown()), z.string()]) }).strict()).optional(),
        fault: name.optional(),
      })
      .strict(),
  })
  .strict();

/** A SIM-10 fault spec, checked when the scenario is read rather than on the first call. */
const faultSpec = name.superRefine((spec, ctx) => {
  try {
    parseSimFault(spec);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/; known faults: .*/, '') });
  }
});

/** The agent's model calls sent to a running Breakwater gateway over HTTP, whatever provider it fronts. */
export const gatewayModelSchema = z
  .object({
    /** The gateway's address (`/v1` is added). */
    baseUrl: z.url({ protocol: /^https?$/, error: 'an http(s) URL of a running gateway, e.g. http://127.0.0.1:8400' }),
    /** A virtual key of that gateway; write `${BREAKWATER_API_KEY}`, never the key itself. */
    apiKey: z.string().min(1, 'the gateway needs a key: write apiKey: ${BREAKWATER_API_KEY} and set the variable'),
    /** The public model name every call goes to, whatever model the agent names. */
    model: name,
    /** Per model the agent names: the public model name to use instead of `model`. */
    models: z.record(z.string(), name).default({}),
    /** USD per 1M tokens per public model name, for cost assertions (bundled prices are used when the name is known). */
    prices: z.record(z.string(), priceSchema).default({}),
  })
  .strict();

/** A scenario file (SPEC SIM-13). */
export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, ".", "_" or "-"'),
    description: z.string().optional(),
    agent: z
      .object({
        /** A module exporting the agent, relative to the scenario file. */
        module: name,
        export: name.default('default'),
        input: z.unknown().optional(),
        limits: z.object({ maxSteps: z.number().int().positive().optional(), maxCostMicros: z.number().int().positive().optional() }).strict().optional(),
      })
      .strict(),
    world: z.record(z.string(), collectionSchema).default({}),
    tools: z
      .object({
        /** Fake tools handed to the agent; the agent's own bindings are replaced (SPEC SIM-1). */
        enabled: z.array(z.enum(['email.send', 'payment.charge', 'payment.refund', 'records.list', 'records.get', 'records.update', 'records.delete', 'records.create', 'http.fetch'])).optional(),
        /** false: a repeated idempotency key performs the effect again (a provider that ignores keys). */
        idempotent: z.boolean().default(true),
        http: z.array(z.object({ method: z.string().default('GET'), url: name, status: z.number().int().default(200), body: z.unknown().optional() }).strict()).default([]),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        /** SIM-10 fault specs per model the agent calls, e.g. `sim-fast: "429:times=2"`. */
        faults: z.record(z.string(), faultSpec).default({}),
        /** Scripted turns (SPEC SIM-9): the first whose matchers all hold answers instead of the improvised text. */
        script: z.array(scriptTurnSchema).default([]),
        /** Upstream attempts per LLM call (1 = the agent sees every provider fault). */
        maxAttempts: z.number().int().positive().optional(),
        /** Real providers: send the calls through this gateway instead of the in-process sim models (scripts then do not apply). */
        gateway: gatewayModelSchema.optional(),
      })
      .strict()
      .prefault({}),
    faults: z
      .object({
        tools: z.array(toolFaultSchema).default([]),
        /** SIGKILL the worker process right after this tool performed its effect, before the step is checkpointed (SPEC SIM-15). */
        crash: z.object({ afterTool: name, times: z.number().int().positive().default(1) }).strict().optional(),
      })
      .strict()
      .prefault({}),
    assertions: z
      .object({
        status: z.enum(['succeeded', 'failed', 'cancelled']).default('succeeded'),
        effects: z.array(effectAssertionSchema).default([]),
        world: z.array(worldAssertionSchema).default([]),
        /** Collateral damage: every document the agent changed in `collection` matched `where` in the starting world. */
        untouchedOutside: z.array(z.object({ collection: name, where: filter }).strict()).default([]),
        maxSteps: z.number().int().positive().optional(),
        maxCostMicros: z.number().int().nonnegative().optional(),
      })
      .strict()
      .prefault({}),
    trials: z.number().int().positive().default(8),
    /** Minimum pass rates; below one `sim run` exits non-zero. */
    thresholds: z.object({ pass1: probability.optional(), passK: probability.optional() }).strict().prefault({}),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type GatewayModel = z.infer<typeof gatewayModelSchema>;
/** `model.gateway` as written: `models` and `prices` may be left out. */
export type GatewayModelInput = z.input<typeof gatewayModelSchema>;
export type ToolFault = z.infer<typeof toolFaultSchema>;
export type EffectAssertion = z.infer<typeof effectAssertionSchema>;
export type WorldAssertion = z.infer<typeof worldAssertionSchema>;
