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
export { createSimWorld } from './simulation/create-sim-world.js';
export type { SimWorld, SimWorldOptions } from './simulation/create-sim-world.js';
export { loadScenario } from './simulation/load-scenario.js';
export type { LoadedScenario, WorldDoc } from './simulation/load-scenario.js';
export type { GatewayModelInput } from './simulation/scenario-schema.js';
export { runScenarios } from './simulation/run-scenarios.js';
export type { FailureClass, TrialResult } from './simulation/run-trial.js';
export type { ScenarioReport, PassAtK } from './simulation/sim-report.js';
export type { LedgerEntry } from './simulation/world-store.js';
export type { Scenario } from './simulation/scenario-schema.js';
