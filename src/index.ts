// The library entry (`import { defineAgent } from 'breakwater'`): the agent API, the fake tools
// for tests and examples, and the embedding entry points. The CLI is the production bundle.
export { defineAgent, DEFAULT_RUN_LIMITS } from './runs/define-agent.js';
export type {
  AgentDefinition,
  ApprovalDecision,
  LlmMessage,
  LlmRequest,
  LlmResult,
  RunContext,
  RunLimits,
  StepContext,
  StepOptions,
  ToolContext,
  ToolFunction,
  WaitResult,
  WaitTarget,
} from './runs/define-agent.js';
export { createFakeEffectLedger, createFakeEmailTool, createFakePaymentTools } from './runs/fake-tools.js';
export type { EmailArgs, FakeEffect, FakeEffectLedger, PaymentArgs } from './runs/fake-tools.js';
export { BreakwaterError } from './core/errors.js';
export type { ErrorCode } from './core/errors.js';
export { startBreakwater } from './server/start-breakwater.js';
export type { RunningBreakwater, StartOptions } from './server/start-breakwater.js';
export { startWorker } from './runs/start-worker.js';
