import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { JsonObject } from '../core/types.js';
import type { AgentDescriptor, KeyRecord, RunRecord, RunStatus, RunStore, SignalDelivery } from '../store/interfaces.js';
import { TERMINAL_RUN_STATUSES } from '../store/run-records.js';
import { tenantOf } from '../tenancy/tenant-of.js';
import { formatSchemaError, sharedJsonSchemaCache } from '../validation/json-schema-cache.js';
import type { AgentRegistry } from './agent-registry.js';
import type { RunLimits } from './define-agent.js';
import { runEvent } from './run-event-log.js';
import type { RunWorker } from './run-worker.js';

/** A validated `POST /v1/runs` body. */
export interface CreateRunInput {
  agent: string;
  input: unknown;
  idempotencyKey?: string | undefined;
  limits?: Partial<RunLimits> | undefined;
}

/** What the run service needs. */
export interface RunServiceDeps {
  store: RunStore;
  clock: Clock;
  /** Agents hosted in this process; others are looked up in the store (registered by workers). */
  agents?: AgentRegistry | undefined;
  /** This process's worker, nudged when a run here becomes runnable. */
  worker?: RunWorker | undefined;
}

const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled']);
const LIMIT_FIELDS = ['maxSteps', 'maxWallMs', 'maxTokens', 'maxCostMicros'] as const;

/** Reads `limits` of a create request: known fields, positive whole numbers. */
export function parseLimits(value: unknown): Partial<RunLimits> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new BreakwaterError('invalid_request', 'limits must be an object', { param: 'limits' });
  const limits: Partial<RunLimits> = {};
  for (const [field, given] of Object.entries(value)) {
    if (!(LIMIT_FIELDS as readonly string[]).includes(field)) {
      throw new BreakwaterError('invalid_request', `unknown limit '${field}'; known: ${LIMIT_FIELDS.join(', ')}`, { param: `limits.${field}` });
    }
    if (!Number.isSafeInteger(given) || (given as number) <= 0) throw new BreakwaterError('invalid_request', `limits.${field} must be a positive whole number`, { param: `limits.${field}` });
    limits[field as (typeof LIMIT_FIELDS)[number]] = given as number;
  }
  return limits;
}

/** A run as the HTTP API shows it (SPEC LR-1). */
export function runView(run: RunRecord): Record<string, unknown> {
  const waiter = run.status === 'waiting' ? { signal: run.waitSignal ?? null, wake_at: run.wakeAt ?? null } : null;
  return {
    id: run.id,
    object: 'run',
    agent: run.agent,
    status: run.status,
    created_at: run.createdAt,
    started_at: run.startedAt ?? null,
    ended_at: run.endedAt ?? null,
    steps: run.steps,
    usage: { input_tokens: run.inputTokens, output_tokens: run.outputTokens },
    cost_micros: run.costMicros,
    // Always present like the other fields: a warm run paid no init work, 0 ms. Rounded to the µs so the float sum does not show.
    cold: run.cold === true,
    init_ms: Math.round((run.initMs ?? 0) * 1000) / 1000,
    waiting_for: waiter,
    cancel_requested: run.cancelRequested,
    result: run.result === undefined ? null : JSON.parse(run.result),
    error: run.error === undefined ? null : JSON.parse(run.error),
    events_url: `/v1/runs/${run.id}/events`,
  };
}

/**
 * What the run routes do, apart from HTTP: create (validated against the agent, idempotent per
 * tenant), read, cancel, signal and approve. Every lookup is by tenant: another tenant's run is
 * answered exactly like one that does not exist (SPEC SEC-3).
 */
export class RunService {
  constructor(private readonly deps: RunServiceDeps) {
    // Compile hosted agents' input schemas off the request path, so the first create stays fast.
    const schemas = deps.agents?.descriptors().flatMap((agent) => (agent.inputSchema ? [agent.inputSchema as JsonObject] : [])) ?? [];
    if (schemas.length > 0) setImmediate(() => schemas.forEach((schema) => sharedJsonSchemaCache.get(schema)));
  }

  /** The agent as this process knows it, or as a worker registered it. */
  async describeAgent(name: string): Promise<AgentDescriptor> {
    const local = this.deps.agents?.get(name);
    if (local) return { name, inputSchema: local.inputSchema, onDetach: local.onDetach ?? 'keep' };
    const registered = await this.deps.store.getAgent(name);
    if (registered) return registered;
    const known = this.deps.agents?.names.join(', ') || 'none in this process';
    throw new BreakwaterError('agent_not_found', `no agent named '${name}' (known: ${known}); start a worker with --agents that exports it`, { param: 'agent' });
  }

  /** Stores a queued run (or finds the one with this idempotency key) and nudges the local worker. */
  async create(key: KeyRecord, request: CreateRunInput, requestId: string): Promise<{ run: RunRecord; created: boolean }> {
    const agent = await this.describeAgent(request.agent);
    if (agent.inputSchema) {
      const compiled = sharedJsonSchemaCache.get(agent.inputSchema as JsonObject);
      if (compiled.ok && !compiled.validate(request.input)) {
        throw new BreakwaterError('invalid_request', `input does not match agent ${agent.name}'s schema: ${formatSchemaError(compiled.validate.errors)}`, { param: 'input' });
      }
    }
    const now = this.deps.clock.now();
    const run: RunRecord = {
      id: newId('run'),
      tenant: tenantOf(key),
      keyId: key.id,
      agent: agent.name,
      input: JSON.stringify(request.input ?? null),
      status: 'queued',
      idempotencyKey: request.idempotencyKey,
      requestId,
      limits: JSON.stringify(request.limits ?? {}),
      createdAt: now,
      updatedAt: now,
      epoch: 0,
      cancelRequested: false,
      steps: 0,
      inputTokens: 0,
      outputTokens: 0,
      costMicros: 0,
    };
    const created = await this.deps.store.createRun(run, [{ seq: 0, ...runEvent('run.created', run.id, now, { agent: agent.name }) }]);
    if (created.created) this.deps.worker?.wake();
    return created;
  }

  /** The tenant's run, or 404. */
  async get(key: KeyRecord, id: string): Promise<RunRecord> {
    const run = await this.deps.store.getRun(id);
    if (!run || run.tenant !== tenantOf(key)) throw new BreakwaterError('not_found', `no run with id ${id}`, { param: 'id' });
    return run;
  }

  async list(key: KeyRecord, status: string | undefined, limit: number): Promise<RunRecord[]> {
    if (status !== undefined && !RUN_STATUSES.has(status)) {
      throw new BreakwaterError('invalid_request', `status must be one of ${[...RUN_STATUSES].join(', ')}`, { param: 'status' });
    }
    return this.deps.store.listRuns({ tenant: tenantOf(key), status: status as RunStatus | undefined, limit });
  }

  /**
   * Asks for a cancel (idempotent): the owner stops at its next step boundary, aborting an LLM call
   * in flight; a queued or parked run is ended by the next worker that claims it. A run that
   * already succeeded or failed is 409 `run_finished`.
   */
  async cancel(key: KeyRecord, id: string): Promise<RunRecord> {
    const run = await this.get(key, id);
    if (run.status === 'cancelled') return run;
    if (TERMINAL_RUN_STATUSES.has(run.status)) throw new BreakwaterError('run_finished', `run ${id} already ${run.status}; there is nothing to cancel`, { param: 'id' });
    const flagged = (await this.deps.store.requestCancel(id, this.deps.clock.now())) ?? run;
    if (!this.deps.worker?.cancelLocal(id)) this.deps.worker?.wake();
    return flagged;
  }

  /** Delivers a signal; kept when the run is not parked on it yet (SPEC LR-7). */
  async signal(key: KeyRecord, id: string, name: string, payload: unknown): Promise<RunRecord> {
    await this.get(key, id);
    const delivery = await this.deps.store.deliverSignal({ runId: id, name, payload: JSON.stringify(payload ?? null), at: this.deps.clock.now() }, {});
    return this.delivered(id, delivery);
  }

  /** Delivers an approval decision once (a repeat answers with the first decision). */
  async approve(key: KeyRecord, id: string, approvalId: string, decision: { approved: boolean; comment?: string }): Promise<{ run: RunRecord; decision: unknown }> {
    await this.get(key, id);
    const delivery = await this.deps.store.deliverSignal(
      { runId: id, name: `approval:${approvalId}`, payload: JSON.stringify(decision), at: this.deps.clock.now() },
      { unique: true, requireWaiting: true },
    );
    if (delivery.kind === 'duplicate') return { run: delivery.run, decision: JSON.parse(delivery.existing.payload) };
    if (delivery.kind === 'not_waiting') {
      throw new BreakwaterError('run_not_waiting', `run ${id} is not waiting for approval '${approvalId}' (status ${delivery.run.status})`, { param: 'approval_id' });
    }
    return { run: await this.delivered(id, delivery), decision };
  }

  private async delivered(id: string, delivery: SignalDelivery): Promise<RunRecord> {
    if (delivery.kind === 'not_found') throw new BreakwaterError('not_found', `no run with id ${id}`, { param: 'id' });
    if (delivery.kind === 'finished') throw new BreakwaterError('run_finished', `run ${id} already ${delivery.run.status}; it reads no more signals`, { param: 'id' });
    this.deps.worker?.wake();
    return delivery.run;
  }
}
