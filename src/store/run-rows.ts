import type { EffectRecord, RunRecord, RunSignal, StepRecord } from './interfaces.js';

/** Row shapes of the run tables, the same in SQLite and PostgreSQL (0/1 flags, integer ms, JSON as text). */
export interface RunRow {
  id: string;
  tenant: string;
  key_id: string;
  agent: string;
  input: string;
  status: RunRecord['status'];
  idempotency_key: string | null;
  request_id: string;
  limits: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  ended_at: number | null;
  epoch: number;
  owner: string | null;
  lease_expires_at: number | null;
  wake_at: number | null;
  waiter: string | null;
  wait_signal: string | null;
  cancel_requested: number;
  steps: number;
  input_tokens: number;
  output_tokens: number;
  cost_micros: number;
  /** 1 once a committed LLM step was cold (SPEC CS-3). */
  cold: number;
  init_ms: number;
  result: string | null;
  error: string | null;
}

export interface StepRow {
  run_id: string;
  slot: string;
  seq: number;
  key: string;
  name: string;
  kind: StepRecord['kind'];
  status: StepRecord['status'];
  output: string | null;
  error: string | null;
  attempts: number;
  started_at: number;
  ended_at: number;
  epoch: number;
}

export interface SignalRow {
  id: number;
  run_id: string;
  name: string;
  payload: string;
  at: number;
  consumed_by: string | null;
}

export const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);
export const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    keyId: row.key_id,
    agent: row.agent,
    input: row.input,
    status: row.status,
    idempotencyKey: orUndefined(row.idempotency_key),
    requestId: row.request_id,
    limits: row.limits,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: orUndefined(row.started_at),
    endedAt: orUndefined(row.ended_at),
    epoch: row.epoch,
    owner: orUndefined(row.owner),
    leaseExpiresAt: orUndefined(row.lease_expires_at),
    wakeAt: orUndefined(row.wake_at),
    waiter: orUndefined(row.waiter),
    waitSignal: orUndefined(row.wait_signal),
    cancelRequested: row.cancel_requested === 1,
    steps: row.steps,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    costMicros: row.cost_micros,
    cold: row.cold === 1 ? true : undefined,
    initMs: row.cold === 1 ? row.init_ms : undefined,
    result: orUndefined(row.result),
    error: orUndefined(row.error),
  };
}

export function toStep(row: StepRow): StepRecord {
  return {
    runId: row.run_id,
    slot: row.slot,
    seq: row.seq,
    key: row.key,
    name: row.name,
    kind: row.kind,
    status: row.status,
    output: orUndefined(row.output),
    error: orUndefined(row.error),
    attempts: row.attempts,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    epoch: row.epoch,
  };
}

export function toSignal(row: SignalRow): RunSignal {
  return { runId: row.run_id, name: row.name, payload: row.payload, at: row.at, consumedBy: orUndefined(row.consumed_by) };
}

export interface EffectRow {
  run_id: string;
  step_key: string;
  tool: string;
  idempotency_key: string;
  args: string;
  result: string | null;
  at: number;
}

export function toEffect(row: EffectRow): EffectRecord {
  return { runId: row.run_id, stepKey: row.step_key, tool: row.tool, idempotencyKey: row.idempotency_key, args: row.args, result: orUndefined(row.result), at: row.at };
}
