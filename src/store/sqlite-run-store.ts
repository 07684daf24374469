import type {
  AgentDescriptor,
  LoggedEvent,
  RunEnd,
  RunLease,
  RunRecord,
  RunSignal,
  RunStore,
  SignalDelivery,
  StepCommit,
  WaitCommit,
  WaitOutcome,
  RunStatus,
} from './interfaces.js';
import { runStreamRecord, streamStatusOf, TERMINAL_RUN_STATUSES, timeoutOutput, signalOutput } from './run-records.js';
import { orNull, toEffect, toRun, toSignal, toStep, type EffectRow, type RunRow, type SignalRow, type StepRow } from './run-rows.js';
import type { SqliteDatabase } from './sqlite-database.js';

const LIVE = "status IN ('queued', 'running', 'waiting')";
const RUNNABLE = `(status = 'queued' OR (status = 'running' AND lease_expires_at <= @now) OR (status = 'waiting' AND (wake_at <= @now OR cancel_requested = 1)))`;

/**
 * The SQLite run store. Each owner write is one IMMEDIATE transaction whose first statement checks
 * the epoch (`… WHERE id = ? AND epoch = ?`); with zero rows changed nothing else is written, so a
 * stale owner's step, effect and events never land. Run events go into the same `stream_events`
 * table as every other stream, in the same transaction as the step they belong to.
 */
export function createSqliteRunStore(db: SqliteDatabase): RunStore {
  const insertRun = db.prepare(
    `INSERT INTO runs (id, tenant, key_id, agent, input, status, idempotency_key, request_id, limits, created_at, updated_at, epoch, cancel_requested)
     VALUES (@id, @tenant, @key_id, @agent, @input, @status, @idempotency_key, @request_id, @limits, @created_at, @updated_at, 0, 0)`,
  );
  const insertStream = db.prepare(
    'INSERT INTO streams (id, tenant, kind, status, created_at, ended_at, expires_at, meta) VALUES (@id, @tenant, @kind, @status, @createdAt, NULL, @expiresAt, @meta)',
  );
  const insertEvent = db.prepare<[string, number, string | null, string]>('INSERT INTO stream_events (stream_id, seq, event, data) VALUES (?, ?, ?, ?)');
  const byId = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?');
  const byIdempotency = db.prepare<[string, string], RunRow>('SELECT * FROM runs WHERE tenant = ? AND idempotency_key = ?');
  const listAll = db.prepare<[string, number], RunRow>('SELECT * FROM runs WHERE tenant = ? ORDER BY created_at DESC, id DESC LIMIT ?');
  const listByStatus = db.prepare<[string, string, number], RunRow>('SELECT * FROM runs WHERE tenant = ? AND status = ? ORDER BY created_at DESC, id DESC LIMIT ?');
  const listEvery = db.prepare<[number], RunRow>('SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ?');
  const listEveryByStatus = db.prepare<[string, number], RunRow>('SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ?');
  const countByStatus = db.prepare<[], { status: RunStatus; count: number }>('SELECT status, COUNT(*) AS count FROM runs GROUP BY status');
  const checkEpoch = db.prepare<[number, string, number]>("UPDATE runs SET updated_at = ? WHERE id = ? AND epoch = ? AND status = 'running'");
  const renew = db.prepare<[number, number, string, number, string], { cancel_requested: number }>(
    "UPDATE runs SET lease_expires_at = ?, updated_at = ? WHERE id = ? AND epoch = ? AND owner = ? AND status = 'running' RETURNING cancel_requested",
  );
  const release = db.prepare<[number, number, string, number]>("UPDATE runs SET lease_expires_at = ?, owner = NULL, updated_at = ? WHERE id = ? AND epoch = ? AND status = 'running'");
  const stepsOf = db.prepare<[string], StepRow>('SELECT * FROM run_steps WHERE run_id = ? ORDER BY seq');
  const effectsOf = db.prepare<[string], EffectRow>(
    'SELECT * FROM run_effects WHERE run_id = ? ORDER BY at, step_key',
  );
  const lastSeq = db.prepare<[string], { seq: number | null }>('SELECT MAX(seq) AS seq FROM stream_events WHERE stream_id = ?');
  const insertStep = db.prepare(
    `INSERT INTO run_steps (run_id, slot, seq, key, name, kind, status, output, error, attempts, started_at, ended_at, epoch)
     VALUES (@runId, @slot, @seq, @key, @name, @kind, @status, @output, @error, @attempts, @startedAt, @endedAt, @epoch)`,
  );
  const insertEffect = db.prepare(
    'INSERT INTO run_effects (run_id, step_key, tool, idempotency_key, args, result, at) VALUES (@runId, @stepKey, @tool, @idempotencyKey, @args, @result, @at)',
  );
  const addUsage = db.prepare<[number, number, number, number, number, string]>(
    `UPDATE runs SET steps = steps + 1, input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cost_micros = cost_micros + ?,
       cold = MAX(cold, ?), init_ms = init_ms + ?, waiter = NULL, wait_signal = NULL WHERE id = ?`,
  );
  const pendingSignal = db.prepare<[string, string], SignalRow>('SELECT * FROM run_signals WHERE run_id = ? AND name = ? AND consumed_by IS NULL ORDER BY id LIMIT 1');
  const anySignal = db.prepare<[string, string], SignalRow>('SELECT * FROM run_signals WHERE run_id = ? AND name = ? ORDER BY id LIMIT 1');
  const consume = db.prepare<[string, number]>('UPDATE run_signals SET consumed_by = ? WHERE id = ?');
  const park = db.prepare<[number | null, string, string | null, number, string]>(
    "UPDATE runs SET status = 'waiting', owner = NULL, lease_expires_at = NULL, wake_at = ?, waiter = ?, wait_signal = ?, updated_at = ? WHERE id = ?",
  );
  const finish = db.prepare<[string, string | null, string | null, number, number, string]>(
    'UPDATE runs SET status = ?, result = ?, error = ?, ended_at = ?, updated_at = ?, owner = NULL, lease_expires_at = NULL, wake_at = NULL, waiter = NULL, wait_signal = NULL WHERE id = ?',
  );
  const endStream = db.prepare<[string, number, number, string]>("UPDATE streams SET status = ?, ended_at = ?, expires_at = ? WHERE id = ? AND status = 'active'");
  const claim = db.prepare(
    `UPDATE runs SET status = 'running', owner = @owner, lease_expires_at = @now + @leaseMs, epoch = epoch + 1, wake_at = NULL,
       started_at = COALESCE(started_at, @now), updated_at = @now
     WHERE id = (SELECT id FROM runs WHERE ${RUNNABLE} AND agent IN (SELECT value FROM json_each(@agents)) ORDER BY updated_at, id LIMIT 1)
     RETURNING *`,
  );
  const flagCancel = db.prepare<[number, string]>(
    `UPDATE runs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND ${LIVE}`,
  );
  const cancelFlags = db.prepare<[string], { id: string }>('SELECT id FROM runs WHERE cancel_requested = 1 AND id IN (SELECT value FROM json_each(?))');
  const insertSignal = db.prepare<[string, string, string, number]>('INSERT INTO run_signals (run_id, name, payload, at) VALUES (?, ?, ?, ?)');
  const wake = db.prepare<[number, number, string]>("UPDATE runs SET wake_at = ?, updated_at = ? WHERE id = ? AND status = 'waiting'");
  const upsertAgent = db.prepare<[string, string, number]>(
    'INSERT INTO run_agents (name, descriptor, seen_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET descriptor = excluded.descriptor, seen_at = excluded.seen_at',
  );
  const agentByName = db.prepare<[string], { descriptor: string }>('SELECT descriptor FROM run_agents WHERE name = ?');
  const endedBefore = db.prepare<[number], { id: string }>("SELECT id FROM runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND ended_at < ?");
  const deleteFrom = ['run_steps', 'run_effects', 'run_signals'].map((table) => db.prepare<[string]>(`DELETE FROM ${table} WHERE run_id = ?`));
  const deleteRun = db.prepare<[string]>('DELETE FROM runs WHERE id = ?');

  const appendRaw = (runId: string, events: readonly LoggedEvent[]) => {
    for (const event of events) insertEvent.run(runId, event.seq, event.event ?? null, event.data);
  };
  /** True when the lease still holds; every owner transaction starts with it. */
  const holds = (lease: RunLease, now: number) => checkEpoch.run(now, lease.runId, lease.epoch).changes === 1;
  const writeStep = (lease: RunLease, commit: StepCommit) => {
    const { step } = commit;
    insertStep.run({ ...step, output: orNull(step.output), error: orNull(step.error) });
    if (commit.effect) insertEffect.run({ ...commit.effect, result: orNull(commit.effect.result) });
    const usage = commit.usage;
    addUsage.run(usage?.inputTokens ?? 0, usage?.outputTokens ?? 0, usage?.costMicros ?? 0, usage?.cold ? 1 : 0, usage?.initMs ?? 0, lease.runId);
    appendRaw(lease.runId, commit.events);
  };

  const create = db.transaction((run: RunRecord, events: LoggedEvent[]): { run: RunRecord; created: boolean } => {
    if (run.idempotencyKey !== undefined) {
      const existing = byIdempotency.get(run.tenant, run.idempotencyKey);
      if (existing) return { run: toRun(existing), created: false };
    }
    insertRun.run({
      id: run.id,
      tenant: run.tenant,
      key_id: run.keyId,
      agent: run.agent,
      input: run.input,
      status: run.status,
      idempotency_key: orNull(run.idempotencyKey),
      request_id: run.requestId,
      limits: run.limits,
      created_at: run.createdAt,
      updated_at: run.updatedAt,
    });
    insertStream.run(runStreamRecord(run));
    appendRaw(run.id, events);
    return { run, created: true };
  });
  const appendBatch = db.transaction((batch: ReadonlyArray<{ lease: RunLease; events: LoggedEvent[] }>, now: number) => {
    const skipped: string[] = [];
    for (const { lease, events } of batch) {
      if (holds(lease, now)) appendRaw(lease.runId, events);
      else skipped.push(lease.runId);
    }
    return skipped;
  });
  const commit = db.transaction((lease: RunLease, step: StepCommit, now: number) => {
    if (!holds(lease, now)) return false;
    writeStep(lease, step);
    return true;
  });
  const wait = db.transaction((lease: RunLease, w: WaitCommit, now: number): WaitOutcome => {
    if (!holds(lease, now)) return { kind: 'lost' };
    const signal = w.signal === undefined ? undefined : pendingSignal.get(lease.runId, w.signal);
    let output: string | undefined;
    if (signal) {
      consume.run(w.step.key, signal.id);
      output = signalOutput(signal.payload);
    } else if (w.deadline !== undefined && now >= w.deadline) {
      output = timeoutOutput();
    }
    if (output !== undefined) {
      writeStep(lease, { step: { ...w.step, status: 'completed', output }, events: w.resolvedEvents });
      return { kind: 'resolved', output };
    }
    park.run(orNull(w.deadline), w.waiter, orNull(w.signal), now, lease.runId);
    appendRaw(lease.runId, w.parkedEvents);
    return { kind: 'parked' };
  });
  const end = db.transaction((lease: RunLease, e: RunEnd, now: number) => {
    if (!holds(lease, now)) return false;
    appendRaw(lease.runId, e.events);
    finish.run(e.status, orNull(e.result), orNull(e.error), now, now, lease.runId);
    endStream.run(streamStatusOf(e.status), now, e.eventsExpireAt, lease.runId);
    return true;
  });
  const deliver = db.transaction((signal: RunSignal, options: { unique?: boolean; requireWaiting?: boolean }): SignalDelivery => {
    const row = byId.get(signal.runId);
    if (!row) return { kind: 'not_found' };
    const run = toRun(row);
    if (options.unique) {
      const existing = anySignal.get(signal.runId, signal.name);
      if (existing) return { kind: 'duplicate', run, existing: toSignal(existing) };
    }
    if (TERMINAL_RUN_STATUSES.has(run.status)) return { kind: 'finished', run };
    const parkedOnIt = run.status === 'waiting' && run.waitSignal === signal.name;
    if (options.requireWaiting && !parkedOnIt) return { kind: 'not_waiting', run };
    insertSignal.run(signal.runId, signal.name, signal.payload, signal.at);
    if (parkedOnIt) wake.run(signal.at, signal.at, signal.runId);
    return { kind: 'delivered', run: toRun(byId.get(signal.runId)!) };
  });
  const cancel = db.transaction((runId: string, now: number) => {
    flagCancel.run(now, runId);
    const row = byId.get(runId);
    return row && toRun(row);
  });
  const prune = db.transaction((before: number) => {
    const ids = endedBefore.all(before);
    for (const { id } of ids) {
      for (const statement of deleteFrom) statement.run(id);
      deleteRun.run(id);
    }
    return ids.length;
  });

  return {
    async createRun(run, events) {
      // IMMEDIATE: the idempotency lookup and the insert hold the write lock together.
      return create.immediate(run, events);
    },
    async getRun(id) {
      const row = byId.get(id);
      return row && toRun(row);
    },
    async listRuns({ tenant, status, limit }) {
      if (tenant === undefined) return (status ? listEveryByStatus.all(status, limit) : listEvery.all(limit)).map(toRun);
      const rows = status ? listByStatus.all(tenant, status, limit) : listAll.all(tenant, limit);
      return rows.map(toRun);
    },
    async countRunsByStatus() {
      return Object.fromEntries(countByStatus.all().map((row) => [row.status, row.count]));
    },
    async claimRun({ owner, agents, now, leaseMs }) {
      if (agents.length === 0) return undefined;
      const row = claim.get({ owner, now, leaseMs, agents: JSON.stringify(agents) }) as RunRow | undefined;
      return row && toRun(row);
    },
    async renewLease(lease, now, leaseMs) {
      const row = renew.get(now + leaseMs, now, lease.runId, lease.epoch, lease.owner);
      return { ok: row !== undefined, cancelRequested: row?.cancel_requested === 1 };
    },
    async releaseRun(lease, now) {
      release.run(now, now, lease.runId, lease.epoch);
    },
    async listSteps(runId) {
      return stepsOf.all(runId).map(toStep);
    },
    async listEffects(runId) {
      return effectsOf.all(runId).map(toEffect);
    },
    async lastEventSeq(runId) {
      return lastSeq.get(runId)?.seq ?? -1;
    },
    async appendEvents(batch, now) {
      return batch.length === 0 ? [] : appendBatch.immediate(batch, now);
    },
    async commitStep(lease, step, now) {
      return commit.immediate(lease, step, now);
    },
    async commitWait(lease, w, now) {
      return wait.immediate(lease, w, now);
    },
    async finishRun(lease, e, now) {
      return end.immediate(lease, e, now);
    },
    async requestCancel(runId, now) {
      return cancel.immediate(runId, now);
    },
    async cancelRequested(runIds) {
      return runIds.length === 0 ? [] : cancelFlags.all(JSON.stringify(runIds)).map((row) => row.id);
    },
    async deliverSignal(signal, options) {
      return deliver.immediate(signal, options);
    },
    async registerAgents(agents: readonly AgentDescriptor[], now) {
      db.transaction(() => {
        for (const agent of agents) upsertAgent.run(agent.name, JSON.stringify(agent), now);
      })();
    },
    async getAgent(name) {
      const row = agentByName.get(name);
      return row && (JSON.parse(row.descriptor) as AgentDescriptor);
    },
    async pruneRuns(before) {
      return prune.immediate(before);
    },
  };
}
