import { BreakwaterError } from '../core/errors.js';
import type { AgentDefinition, LlmRequest, RunContext, StepOptions, WaitResult, WaitTarget } from './define-agent.js';
import { callLlm, type LlmStepDeps } from './llm-step.js';
import type { StepEngine, StepOutcome } from './step-engine.js';

const TOOL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_RETRIES = 2;

/** What a run context is built from. */
export interface RunContextDeps {
  runId: string;
  input: unknown;
  signal: AbortSignal;
  engine: StepEngine;
  agent: AgentDefinition;
  llm: LlmStepDeps;
}

function retriesOf(options: StepOptions | undefined, fallback: number): number {
  const retries = options?.retries ?? fallback;
  if (!Number.isInteger(retries) || retries < 0) throw new TypeError('retries must be a whole number ≥ 0');
  return retries;
}

/**
 * The `ctx` an agent gets. Each call takes the next position (`slot`) in its scope synchronously,
 * before any await, so replay sees the same positions whatever the timing; parallel branches get
 * scopes of their own (`3.0.`, `3.1.` …) so their interleaving cannot shift each other's slots.
 */
export function createRunContext(deps: RunContextDeps, prefix = ''): RunContext {
  let position = 0;
  const slot = () => `${prefix}${position++}`;
  const { engine } = deps;
  const keyOf = (at: string, name: string, options?: StepOptions) => options?.key ?? `${at}:${name}`;

  const ctx: RunContext = {
    runId: deps.runId,
    input: deps.input,
    signal: deps.signal,
    async step(name, fn, options) {
      const at = slot();
      return (await engine.runStep({
        slot: at,
        name,
        key: keyOf(at, name, options),
        kind: 'step',
        retries: retriesOf(options, DEFAULT_RETRIES),
        timeoutMs: options?.timeoutMs ?? STEP_TIMEOUT_MS,
        attempt: async (context): Promise<StepOutcome> => ({ output: await fn(context) }),
      })) as never;
    },
    async llm(request: LlmRequest, options) {
      const at = slot();
      const name = options?.name ?? 'llm';
      const key = keyOf(at, name, options);
      return (await engine.runStep({
        slot: at,
        name,
        key,
        kind: 'llm',
        retries: retriesOf(options, 0),
        timeoutMs: options?.timeoutMs ?? STEP_TIMEOUT_MS,
        attempt: (context) => callLlm(deps.llm, request, key, context),
      })) as never;
    },
    async tool(name, args, options) {
      const at = slot();
      const key = keyOf(at, name, options);
      const tool = deps.agent.tools?.[name];
      if (!tool) {
        const known = Object.keys(deps.agent.tools ?? {}).join(', ') || 'none';
        throw new BreakwaterError('invalid_request', `agent ${deps.agent.name} has no tool '${name}' (tools: ${known}); add it under tools: in defineAgent`);
      }
      return (await engine.runStep({
        slot: at,
        name,
        key,
        kind: 'tool',
        retries: retriesOf(options, DEFAULT_RETRIES),
        timeoutMs: options?.timeoutMs ?? TOOL_TIMEOUT_MS,
        attempt: async (context): Promise<StepOutcome> => {
          const output = await tool(args, { ...context, runId: deps.runId, stepKey: key });
          return { output, effect: { runId: deps.runId, stepKey: key, tool: name, idempotencyKey: context.idempotencyKey, args: JSON.stringify(args ?? null) } };
        },
      })) as never;
    },
    async sleep(ms) {
      const at = slot();
      await engine.runWait({ slot: at, name: 'sleep', key: `${at}:sleep`, kind: 'wait' }, undefined, Math.max(0, ms));
    },
    async waitFor<T>(target: WaitTarget, options?: { timeoutMs?: number }): Promise<WaitResult<T>> {
      const at = slot();
      const name = 'signal' in target ? `signal:${target.signal}` : `approval:${target.approval}`;
      return (await engine.runWait({ slot: at, name, key: `${at}:${name}`, kind: 'wait' }, target, options?.timeoutMs)) as WaitResult<T>;
    },
    emit(type, data) {
      engine.emit(`agent.${type}`, { data: data ?? null });
    },
    async parallel(branches) {
      const at = slot();
      engine.assertRunning();
      const settled = await Promise.allSettled(branches.map((branch, index) => branch(createRunContext(deps, `${at}.${index}.`))));
      const failure = settled.find((result) => result.status === 'rejected');
      if (failure) throw (failure as PromiseRejectedResult).reason;
      return settled.map((result) => (result as PromiseFulfilledResult<never>).value);
    },
  };
  return ctx;
}
