import type { ContentPart, FinishReason, JsonObject, ToolDefinition, Usage } from '../core/types.js';

/** A run's bounds (SPEC LR-5); crossing one fails the run with `run_limit_exceeded`. */
export interface RunLimits {
  maxSteps: number;
  maxWallMs: number;
  maxTokens?: number | undefined;
  maxCostMicros: number;
}

/** Defaults from SPEC §5: 50 steps, 30 minutes, $1. */
export const DEFAULT_RUN_LIMITS: Readonly<RunLimits> = Object.freeze({ maxSteps: 50, maxWallMs: 30 * 60_000, maxCostMicros: 1_000_000 });

/** Options of one step. Retries and timeouts wrap only live attempts, never a replay. */
export interface StepOptions {
  /** A stable key instead of `slot:name` (it also names the tool idempotency key). */
  key?: string;
  /** Further attempts after a retryable failure (default 2 for steps and tools, 0 for LLM calls: the gateway retries those). */
  retries?: number;
  /** Per attempt (default 60 s for tools, 10 min otherwise). */
  timeoutMs?: number;
}

/** What a step function gets. */
export interface StepContext {
  /** Aborted on cancel, lease loss, shutdown or the step's timeout. */
  signal: AbortSignal;
  /** 1 for the first attempt. */
  attempt: number;
  /** `runId:stepKey`: stable across attempts, crashes and takeovers. */
  idempotencyKey: string;
}

/** What a tool gets besides its arguments. */
export interface ToolContext extends StepContext {
  runId: string;
  stepKey: string;
}

/** A side-effecting tool an agent may call through `ctx.tool`; it should honour `idempotencyKey`. */
export type ToolFunction<A = any, R = unknown> = (args: A, context: ToolContext) => Promise<R> | R;

/** A message of an LLM call: plain text content or canonical parts. */
export interface LlmMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | ContentPart[];
}

/** An LLM call of a run; it goes through the whole gateway pipeline as the run's key. */
export interface LlmRequest {
  model: string;
  messages: LlmMessage[];
  maxTokens?: number;
  temperature?: number;
  tools?: ToolDefinition[];
  responseFormat?: { type: 'json_object' } | { type: 'json_schema'; name: string; schema: JsonObject };
}

/** A finished LLM call as the journal keeps it. */
export interface LlmResult {
  text: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: FinishReason;
  usage: Usage;
  costMicros: number;
  servedBy: string;
  requestId: string;
  /** Set when the call found its upstream cold (SPEC CS-3), with the one-off init work it paid, ms. */
  cold?: true;
  initMs?: number;
}

/** What a wait ends with. */
export type WaitResult<T = unknown> = { kind: 'signal'; payload: T } | { kind: 'timeout' };

/** An approval decision as `POST /v1/runs/{id}/approvals/{aid}` delivers it. */
export interface ApprovalDecision {
  approved: boolean;
  comment?: string;
}

/** What to wait for: a named signal, or an approval (which emits `approval.requested`). */
export type WaitTarget = { signal: string } | { approval: string; details?: unknown };

/**
 * The context of a run (SPEC LR-9). Every method that records something is a step: its key is
 * fixed when called, before any await; on recovery a completed step returns its recorded output
 * and never runs again. Only step results are memoized, so agent code needs no determinism sandbox.
 */
export interface RunContext<I = unknown> {
  readonly runId: string;
  readonly input: I;
  /** Aborted when the run is cancelled or this worker loses it. */
  readonly signal: AbortSignal;
  step<T>(name: string, fn: (step: StepContext) => Promise<T> | T, options?: StepOptions): Promise<T>;
  llm(request: LlmRequest, options?: StepOptions & { name?: string }): Promise<LlmResult>;
  tool<R = unknown>(name: string, args: unknown, options?: StepOptions): Promise<R>;
  /** A durable timer: the run parks and holds no worker meanwhile. */
  sleep(ms: number): Promise<void>;
  /** A durable wait for a signal or approval, optionally bounded; the run holds no worker meanwhile. */
  waitFor<T = unknown>(target: WaitTarget, options?: { timeoutMs?: number }): Promise<WaitResult<T>>;
  /** Publishes `agent.<type>` to subscribers; not journaled, and not repeated while replaying. */
  emit(type: string, data?: unknown): void;
  /** Runs branches concurrently on one journal; each branch gets its own step positions. */
  parallel<T>(branches: ReadonlyArray<(ctx: RunContext<I>) => Promise<T>>): Promise<T[]>;
}

/** An agent: a name, code, and what it may use. */
export interface AgentDefinition<I = any, O = unknown> {
  name: string;
  description?: string;
  run(ctx: RunContext<I>, input: I): Promise<O>;
  /** JSON Schema the input must match; `POST /v1/runs` refuses anything else with 400. */
  inputSchema?: JsonObject;
  /** Tools `ctx.tool` may call, by name; clients never supply tool code (SPEC LR-10). */
  tools?: Record<string, ToolFunction>;
  /** Bounds; a request's `limits` may tighten them. */
  limits?: Partial<RunLimits>;
  /** With nobody subscribed for `runs.detachGraceMs`: keep running (default) or cancel (SPEC ST-3). */
  onDetach?: 'keep' | 'cancel';
}

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Declares an agent; checks its shape once, where it is written. */
export function defineAgent<I = any, O = unknown>(definition: AgentDefinition<I, O>): AgentDefinition<I, O> {
  if (!definition || typeof definition !== 'object') throw new TypeError('defineAgent needs an object { name, run }');
  if (typeof definition.name !== 'string' || !AGENT_NAME.test(definition.name)) {
    throw new TypeError(`agent name ${JSON.stringify(definition.name)} must be 1-64 letters, digits, '.', '_' or '-'`);
  }
  if (typeof definition.run !== 'function') throw new TypeError(`agent ${definition.name} has no run(ctx, input) function`);
  if (definition.onDetach !== undefined && definition.onDetach !== 'keep' && definition.onDetach !== 'cancel') {
    throw new TypeError(`agent ${definition.name}: onDetach must be 'keep' or 'cancel'`);
  }
  return Object.freeze({ ...definition });
}

/** True for what {@link defineAgent} returns (or an object of the same shape from another copy of the library). */
export function isAgentDefinition(value: unknown): value is AgentDefinition {
  return typeof value === 'object' && value !== null && typeof (value as AgentDefinition).name === 'string' && typeof (value as AgentDefinition).run === 'function';
}
