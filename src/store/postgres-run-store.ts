import type pg from 'pg';
import type { AgentDescriptor, LoggedEvent, RunLease, RunRecord, RunStatus, RunStore, SignalDelivery, StepCommit, WaitOutcome } from './interfaces.js';
import type { PostgresDatabase } from './postgres-database.js';
import { runStreamRecord, signalOutput, streamStatusOf, TERMINAL_RUN_STATUSES, timeoutOutput } from './run-records.js';
import { orNull, toEffect, toRun, toSignal, toStep, type EffectRow, type RunRow, type SignalRow, type StepRow } from './run-rows.js';

type Query = Pick<pg.ClientBase, 'query'>;

/** Claimable: queued, lease expired, or parked and due or cancelled ($1 = now). */
const RUNNABLE = `status IN ('queued', 'running', 'waiting')
  AND (status = 'queued' OR (status = 'running' AND lease_expires_at <= $1) OR (status = 'waiting' AND (wake_at <= $1 OR cancel_requested = 1)))`;

/** Concurrent claimers skip rows another claim (or an owner's write) holds instead of queueing on them. */
const CLAIM = `UPDATE runs SET status = 'running', owner = $2, lease_expires_at = $1 + $3, epoch = epoch + 1, wake_at = NULL,
    started_at = COALESCE(started_at, $1), updated_at = $1
  WHERE id = (SELECT id FROM runs WHERE ${RUNNABLE} AND agent = ANY($4::text[]) ORDER BY updated_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING *`;

/** The fence every owner transaction starts with; it also row-locks the run until commit. */
const HOLDS = "UPDATE runs SET updated_at = $1 WHERE id = $2 AND epoch = $3 AND status = 'running'";

/**
 * A whole step commit in one statement (one round trip, atomic on its own): the fence updates the
 * run's counters, and the step, effect and events are inserted only for the row it returned.
 */
const COMMIT_STEP = `WITH fence AS (
    UPDATE runs SET updated_at = $1, steps = steps + 1, input_tokens = input_tokens + $4, output_tokens = output_tokens + $5, cost_micros = cost_micros + $6,
      cold = GREATEST(cold, $7::int), init_ms = init_ms + $8::float8, waiter = NULL, wait_signal = NULL
    WHERE id = $2 AND epoch = $3 AND status = 'running' RETURNING id),
  step AS (
    INSERT INTO run_steps (run_id, slot, seq, key, name, kind, status, output, error, attempts, started_at, ended_at, epoch)
    SELECT id, $9::text, $10::int, $11::text, $12::text, $13::text, $14::text, $15::text, $16::text, $17::int, $18::bigint, $19::bigint, $20::int FROM fence),
  effect AS (
    INSERT INTO run_effects (run_id, step_key, tool, idempotency_key, args, result, at)
    SELECT id, $21::text, $22::text, $23::text, $24::text, $25::text, $26::bigint FROM fence WHERE $22::text IS NOT NULL),
  events AS (
    INSERT INTO stream_events (stream_id, seq, event, data)
    SELECT fence.id, e.seq, e.event, e.data FROM fence, unnest($27::bigint[], $28::text[], $29::text[]) AS e(seq, event, data))
  SELECT COUNT(*)::int AS n FROM fence`;

const ENDED = "status IN ('succeeded', 'failed', 'cancelled')";

/** Runs `work` in one transaction on one pooled connection. */
async function transaction<T>(pool: pg.Pool, work: (client: Query) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** All of a batch's events in one INSERT. */
async function appendRaw(q: Query, runId: string, events: readonly LoggedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await q.query('INSERT INTO stream_events (stream_id, seq, event, data) SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[])', [
    runId,
    events.map((e) => e.seq),
    events.map((e) => e.event ?? null),
    events.map((e) => e.data),
  ]);
}

async function holds(q: Query, lease: RunLease, now: number): Promise<boolean> {
  return (await q.query(HOLDS, [now, lease.runId, lease.epoch])).rowCount === 1;
}

/** Commits a step if the lease holds; inside an owner transaction the fence simply passes again. */
async function writeStep(q: Query, lease: RunLease, commit: StepCommit, now: number): Promise<boolean> {
  const { step, effect, usage, events } = commit;
  const { rows } = await q.query<{ n: number }>(COMMIT_STEP, [
    now, lease.runId, lease.epoch, usage?.inputTokens ?? 0, usage?.outputTokens ?? 0, usage?.costMicros ?? 0, usage?.cold ? 1 : 0, usage?.initMs ?? 0,
    step.slot, step.seq, step.key, step.name, step.kind, step.status, orNull(step.output), orNull(step.error), step.attempts, step.startedAt, step.endedAt, step.epoch,
    effect?.stepKey ?? null, effect?.tool ?? null, effect?.idempotencyKey ?? null, effect?.args ?? null, effect?.result ?? null, effect?.at ?? null,
    events.map((e) => e.seq), events.map((e) => e.event ?? null), events.map((e) => e.data),
  ]);
  return rows[0]?.n === 1;
}

async function insertRun(q: Query, run: RunRecord): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO runs (id, tenant, key_id, agent, input, status, idempotency_key, request_id, limits, created_at, updated_at, epoch, cancel_requested)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 0)
     ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
    [run.id, run.tenant, run.keyId, run.agent, run.input, run.status, orNull(run.idempotencyKey), run.requestId, run.limits, run.createdAt, run.updatedAt],
  );
  if (rowCount !== 1) return false;
  const stream = runStreamRecord(run);
  await q.query('INSERT INTO streams (id, tenant, kind, status, created_at, ended_at, expires_at, meta) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)', [
    stream.id, stream.tenant, stream.kind, stream.status, stream.createdAt, stream.expiresAt, stream.meta,
  ]);
  return true;
}

/**
 * The PostgreSQL run store (SPEC §2.4). Each owner write is one transaction whose first statement
 * is the fence (`… WHERE id = $ AND epoch = $ AND status = 'running'`): with zero rows nothing else
 * is written, and with one the run's row stays locked until commit, so a claim cannot move the
 * epoch under a half-written step (claims skip locked rows). Run events go to `stream_events` in
 * the same transaction as the step they belong to.
 */
export function createPostgresRunStore({ pool }: PostgresDatabase): RunStore {
  const one = async <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => (await pool.query<R>(sql, params)).rows[0];
  const runById = async (q: Query, id: string, lock = false) => {
    const row = (await q.query<RunRow>(`SELECT * FROM runs WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])).rows[0];
    return row && toRun(row);
  };

  return {
    createRun(run, events) {
      return transaction(pool, async (q) => {
        // ON CONFLICT waits for a concurrent insert of the same key, so the lookup below sees it.
        if (!(await insertRun(q, run))) {
          const existing = await q.query<RunRow>('SELECT * FROM runs WHERE tenant = $1 AND idempotency_key = $2', [run.tenant, run.idempotencyKey]);
          return { run: toRun(existing.rows[0]!), created: false };
        }
        await appendRaw(q, run.id, events);
        return { run, created: true };
      });
    },
    getRun(id) {
      return runById(pool, id);
    },
    async listRuns({ tenant, status, limit }) {
      // Without a tenant: every tenant's runs (admin views); `$1::text IS NULL` keeps one statement.
      const filter = status ? ' AND status = $3' : '';
      const params = status ? [tenant ?? null, limit, status] : [tenant ?? null, limit];
      const { rows } = await pool.query<RunRow>(`SELECT * FROM runs WHERE ($1::text IS NULL OR tenant = $1)${filter} ORDER BY created_at DESC, id DESC LIMIT $2`, params);
      return rows.map(toRun);
    },
    async countRunsByStatus() {
      const { rows } = await pool.query<{ status: RunStatus; count: string }>('SELECT status, COUNT(*) AS count FROM runs GROUP BY status');
      return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
    },
    async claimRun({ owner, agents, now, leaseMs }) {
      if (agents.length === 0) return undefined;
      const row = await one<RunRow>(CLAIM, [now, owner, leaseMs, agents]);
      return row && toRun(row);
    },
    async renewLease(lease, now, leaseMs) {
      const row = await one<{ cancel_requested: number }>(
        "UPDATE runs SET lease_expires_at = $1, updated_at = $2 WHERE id = $3 AND epoch = $4 AND owner = $5 AND status = 'running' RETURNING cancel_requested",
        [now + leaseMs, now, lease.runId, lease.epoch, lease.owner],
      );
      return { ok: row !== undefined, cancelRequested: row?.cancel_requested === 1 };
    },
    async releaseRun(lease, now) {
      await pool.query("UPDATE runs SET lease_expires_at = $1, owner = NULL, updated_at = $1 WHERE id = $2 AND epoch = $3 AND status = 'running'", [
        now, lease.runId, lease.epoch,
      ]);
    },
    async listSteps(runId) {
      return (await pool.query<StepRow>('SELECT * FROM run_steps WHERE run_id = $1 ORDER BY seq', [runId])).rows.map(toStep);
    },
    async listEffects(runId) {
      return (await pool.query<EffectRow>('SELECT * FROM run_effects WHERE run_id = $1 ORDER BY at, step_key', [runId])).rows.map(toEffect);
    },
    async lastEventSeq(runId) {
      return (await one<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM stream_events WHERE stream_id = $1', [runId]))?.seq ?? -1;
    },
    async appendEvents(batch, now) {
      if (batch.length === 0) return [];
      return transaction(pool, async (q) => {
        const skipped: string[] = [];
        for (const { lease, events } of batch) {
          if (await holds(q, lease, now)) await appendRaw(q, lease.runId, events);
          else skipped.push(lease.runId);
        }
        return skipped;
      });
    },
    commitStep(lease, commit, now) {
      return writeStep(pool, lease, commit, now);
    },
    commitWait(lease, wait, now) {
      return transaction(pool, async (q): Promise<WaitOutcome> => {
        if (!(await holds(q, lease, now))) return { kind: 'lost' };
        let output: string | undefined;
        if (wait.signal !== undefined) {
          const consumed = await q.query<{ payload: string }>(
            `UPDATE run_signals SET consumed_by = $1 WHERE id = (SELECT id FROM run_signals WHERE run_id = $2 AND name = $3 AND consumed_by IS NULL ORDER BY id LIMIT 1)
             RETURNING payload`,
            [wait.step.key, lease.runId, wait.signal],
          );
          if (consumed.rows[0]) output = signalOutput(consumed.rows[0].payload);
        }
        if (output === undefined && wait.deadline !== undefined && now >= wait.deadline) output = timeoutOutput();
        if (output !== undefined) {
          await writeStep(q, lease, { step: { ...wait.step, status: 'completed', output }, events: wait.resolvedEvents }, now);
          return { kind: 'resolved', output };
        }
        await q.query(
          "UPDATE runs SET status = 'waiting', owner = NULL, lease_expires_at = NULL, wake_at = $1, waiter = $2, wait_signal = $3, updated_at = $4 WHERE id = $5",
          [orNull(wait.deadline), wait.waiter, orNull(wait.signal), now, lease.runId],
        );
        await appendRaw(q, lease.runId, wait.parkedEvents);
        return { kind: 'parked' };
      });
    },
    finishRun(lease, end, now) {
      return transaction(pool, async (q) => {
        if (!(await holds(q, lease, now))) return false;
        await appendRaw(q, lease.runId, end.events);
        await q.query(
          `UPDATE runs SET status = $1, result = $2, error = $3, ended_at = $4, updated_at = $4, owner = NULL, lease_expires_at = NULL, wake_at = NULL,
             waiter = NULL, wait_signal = NULL WHERE id = $5`,
          [end.status, orNull(end.result), orNull(end.error), now, lease.runId],
        );
        await q.query("UPDATE streams SET status = $1, ended_at = $2, expires_at = $3 WHERE id = $4 AND status = 'active'", [
          streamStatusOf(end.status), now, end.eventsExpireAt, lease.runId,
        ]);
        return true;
      });
    },
    async requestCancel(runId, now) {
      const row = await one<RunRow>(`UPDATE runs SET cancel_requested = 1, updated_at = $1 WHERE id = $2 AND status IN ('queued', 'running', 'waiting') RETURNING *`, [now, runId]);
      return row ? toRun(row) : runById(pool, runId);
    },
    async cancelRequested(runIds) {
      if (runIds.length === 0) return [];
      const { rows } = await pool.query<{ id: string }>('SELECT id FROM runs WHERE cancel_requested = 1 AND id = ANY($1::text[])', [runIds]);
      return rows.map((row) => row.id);
    },
    deliverSignal(signal, options) {
      // The run's row lock orders this against its owner's wait and against a second approval.
      return transaction(pool, async (q): Promise<SignalDelivery> => {
        const run = await runById(q, signal.runId, true);
        if (!run) return { kind: 'not_found' };
        if (options.unique) {
          const existing = (await q.query<SignalRow>('SELECT * FROM run_signals WHERE run_id = $1 AND name = $2 ORDER BY id LIMIT 1', [signal.runId, signal.name])).rows[0];
          if (existing) return { kind: 'duplicate', run, existing: toSignal(existing) };
        }
        if (TERMINAL_RUN_STATUSES.has(run.status)) return { kind: 'finished', run };
        const parkedOnIt = run.status === 'waiting' && run.waitSignal === signal.name;
        if (options.requireWaiting && !parkedOnIt) return { kind: 'not_waiting', run };
        await q.query('INSERT INTO run_signals (run_id, name, payload, at) VALUES ($1, $2, $3, $4)', [signal.runId, signal.name, signal.payload, signal.at]);
        if (parkedOnIt) await q.query("UPDATE runs SET wake_at = $1, updated_at = $1 WHERE id = $2 AND status = 'waiting'", [signal.at, signal.runId]);
        return { kind: 'delivered', run: (await runById(q, signal.runId))! };
      });
    },
    async registerAgents(agents: readonly AgentDescriptor[], now) {
      // One row per name: ON CONFLICT cannot touch the same row twice in one statement.
      const byName = new Map(agents.map((agent) => [agent.name, JSON.stringify(agent)]));
      if (byName.size === 0) return;
      await pool.query(
        `INSERT INTO run_agents (name, descriptor, seen_at) SELECT name, descriptor, $3 FROM unnest($1::text[], $2::text[]) AS a(name, descriptor)
         ON CONFLICT (name) DO UPDATE SET descriptor = excluded.descriptor, seen_at = excluded.seen_at`,
        [[...byName.keys()], [...byName.values()], now],
      );
    },
    async getAgent(name) {
      const row = await one<{ descriptor: string }>('SELECT descriptor FROM run_agents WHERE name = $1', [name]);
      return row && (JSON.parse(row.descriptor) as AgentDescriptor);
    },
    async pruneRuns(before) {
      const row = await one<{ count: number }>(
        `WITH gone AS (DELETE FROM runs WHERE ${ENDED} AND ended_at < $1 RETURNING id),
           steps AS (DELETE FROM run_steps WHERE run_id IN (SELECT id FROM gone)),
           effects AS (DELETE FROM run_effects WHERE run_id IN (SELECT id FROM gone)),
           signals AS (DELETE FROM run_signals WHERE run_id IN (SELECT id FROM gone))
         SELECT COUNT(*)::int AS count FROM gone`,
        [before],
      );
      return row?.count ?? 0;
    },
  };
}
