import type { AgentDescriptor, EffectRecord, EventLog, LoggedEvent, RunLease, RunRecord, RunSignal, RunStatus, RunStore, StepCommit, StepRecord } from './interfaces.js';
import { runStreamRecord, signalOutput, streamStatusOf, TERMINAL_RUN_STATUSES, timeoutOutput } from './run-records.js';

interface MemoryRun {
  record: RunRecord;
  steps: StepRecord[];
  effects: EffectRecord[];
  signals: RunSignal[];
}

const copy = <T extends object>(value: T): T => ({ ...value });

/**
 * Runs in process memory, for unit tests and `store.kind: memory`. Each method does its checks and
 * writes without awaiting in between, so like a SQL transaction nothing interleaves; events go to
 * the memory event log, whose writes apply when called.
 */
export function createMemoryRunStore(log: EventLog): RunStore {
  const runs = new Map<string, MemoryRun>();
  const agents = new Map<string, AgentDescriptor>();
  const lastSeq = new Map<string, number>();

  const append = (runId: string, events: readonly LoggedEvent[]) => {
    if (events.length === 0) return;
    void log.append([{ streamId: runId, events: [...events] }]);
    lastSeq.set(runId, events[events.length - 1]!.seq);
  };
  const held = (lease: RunLease, now: number): MemoryRun | undefined => {
    const run = runs.get(lease.runId);
    if (!run || run.record.epoch !== lease.epoch || run.record.status !== 'running') return undefined;
    run.record.updatedAt = now;
    return run;
  };
  const writeStep = (run: MemoryRun, commit: StepCommit) => {
    if (run.steps.some((step) => step.slot === commit.step.slot)) throw new Error(`run ${run.record.id}: slot ${commit.step.slot} is already committed`);
    run.steps.push(copy(commit.step));
    if (commit.effect) run.effects.push(copy(commit.effect));
    const r = run.record;
    r.steps++;
    r.inputTokens += commit.usage?.inputTokens ?? 0;
    r.outputTokens += commit.usage?.outputTokens ?? 0;
    r.costMicros += commit.usage?.costMicros ?? 0;
    if (commit.usage?.cold) Object.assign(r, { cold: true, initMs: (r.initMs ?? 0) + (commit.usage.initMs ?? 0) });
    r.waiter = undefined;
    r.waitSignal = undefined;
    append(r.id, commit.events);
  };
  const runnable = (r: RunRecord, now: number) =>
    r.status === 'queued' ||
    (r.status === 'running' && (r.leaseExpiresAt ?? 0) <= now) ||
    (r.status === 'waiting' && ((r.wakeAt !== undefined && r.wakeAt <= now) || r.cancelRequested));

  return {
    async createRun(run, events) {
      if (run.idempotencyKey !== undefined) {
        for (const existing of runs.values()) {
          if (existing.record.tenant === run.tenant && existing.record.idempotencyKey === run.idempotencyKey) return { run: copy(existing.record), created: false };
        }
      }
      runs.set(run.id, { record: copy(run), steps: [], effects: [], signals: [] });
      void log.createStream(runStreamRecord(run));
      append(run.id, events);
      return { run: copy(run), created: true };
    },
    async getRun(id) {
      const run = runs.get(id);
      return run && copy(run.record);
    },
    async listRuns({ tenant, status, limit }) {
      return [...runs.values()]
        .map((run) => run.record)
        .filter((r) => (tenant === undefined || r.tenant === tenant) && (status === undefined || r.status === status))
        .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
        .slice(0, limit)
        .map(copy);
    },
    async countRunsByStatus() {
      const counts: Partial<Record<RunStatus, number>> = {};
      for (const { record } of runs.values()) counts[record.status] = (counts[record.status] ?? 0) + 1;
      return counts;
    },
    async claimRun({ owner, agents: names, now, leaseMs }) {
      let best: RunRecord | undefined;
      for (const { record } of runs.values()) {
        if (!names.includes(record.agent) || !runnable(record, now)) continue;
        if (!best || record.updatedAt < best.updatedAt || (record.updatedAt === best.updatedAt && record.id < best.id)) best = record;
      }
      if (!best) return undefined;
      Object.assign(best, { status: 'running', owner, leaseExpiresAt: now + leaseMs, epoch: best.epoch + 1, wakeAt: undefined, startedAt: best.startedAt ?? now, updatedAt: now });
      return copy(best);
    },
    async renewLease(lease, now, leaseMs) {
      const r = runs.get(lease.runId)?.record;
      if (!r || r.epoch !== lease.epoch || r.owner !== lease.owner || r.status !== 'running') return { ok: false, cancelRequested: false };
      r.leaseExpiresAt = now + leaseMs;
      r.updatedAt = now;
      return { ok: true, cancelRequested: r.cancelRequested };
    },
    async releaseRun(lease, now) {
      const r = runs.get(lease.runId)?.record;
      if (!r || r.epoch !== lease.epoch || r.status !== 'running') return;
      Object.assign(r, { leaseExpiresAt: now, owner: undefined, updatedAt: now });
    },
    async listSteps(runId) {
      return [...(runs.get(runId)?.steps ?? [])].sort((a, b) => a.seq - b.seq).map(copy);
    },
    async listEffects(runId) {
      return (runs.get(runId)?.effects ?? []).map(copy);
    },
    async lastEventSeq(runId) {
      return lastSeq.get(runId) ?? -1;
    },
    async appendEvents(batch, now) {
      const skipped: string[] = [];
      for (const { lease, events } of batch) {
        if (held(lease, now)) append(lease.runId, events);
        else skipped.push(lease.runId);
      }
      return skipped;
    },
    async commitStep(lease, commit, now) {
      const run = held(lease, now);
      if (!run) return false;
      writeStep(run, commit);
      return true;
    },
    async commitWait(lease, wait, now) {
      const run = held(lease, now);
      if (!run) return { kind: 'lost' };
      const signal = wait.signal === undefined ? undefined : run.signals.find((s) => s.name === wait.signal && s.consumedBy === undefined);
      let output: string | undefined;
      if (signal) {
        signal.consumedBy = wait.step.key;
        output = signalOutput(signal.payload);
      } else if (wait.deadline !== undefined && now >= wait.deadline) {
        output = timeoutOutput();
      }
      if (output !== undefined) {
        writeStep(run, { step: { ...wait.step, status: 'completed', output }, events: wait.resolvedEvents });
        return { kind: 'resolved', output };
      }
      Object.assign(run.record, { status: 'waiting', owner: undefined, leaseExpiresAt: undefined, wakeAt: wait.deadline, waiter: wait.waiter, waitSignal: wait.signal });
      append(run.record.id, wait.parkedEvents);
      return { kind: 'parked' };
    },
    async finishRun(lease, end, now) {
      const run = held(lease, now);
      if (!run) return false;
      append(run.record.id, end.events);
      Object.assign(run.record, {
        status: end.status,
        result: end.result,
        error: end.error,
        endedAt: now,
        owner: undefined,
        leaseExpiresAt: undefined,
        wakeAt: undefined,
        waiter: undefined,
        waitSignal: undefined,
      });
      void log.endStream(run.record.id, streamStatusOf(end.status), now, end.eventsExpireAt);
      return true;
    },
    async requestCancel(runId, now) {
      const r = runs.get(runId)?.record;
      if (!r) return undefined;
      if (!TERMINAL_RUN_STATUSES.has(r.status)) Object.assign(r, { cancelRequested: true, updatedAt: now });
      return copy(r);
    },
    async cancelRequested(runIds) {
      return runIds.filter((id) => runs.get(id)?.record.cancelRequested);
    },
    async deliverSignal(signal, options) {
      const run = runs.get(signal.runId);
      if (!run) return { kind: 'not_found' };
      const r = run.record;
      if (options.unique) {
        const existing = run.signals.find((s) => s.name === signal.name);
        if (existing) return { kind: 'duplicate', run: copy(r), existing: copy(existing) };
      }
      if (TERMINAL_RUN_STATUSES.has(r.status)) return { kind: 'finished', run: copy(r) };
      const parkedOnIt = r.status === 'waiting' && r.waitSignal === signal.name;
      if (options.requireWaiting && !parkedOnIt) return { kind: 'not_waiting', run: copy(r) };
      run.signals.push(copy(signal));
      if (parkedOnIt) Object.assign(r, { wakeAt: signal.at, updatedAt: signal.at });
      return { kind: 'delivered', run: copy(r) };
    },
    async registerAgents(list) {
      for (const agent of list) agents.set(agent.name, { ...agent });
    },
    async getAgent(name) {
      const agent = agents.get(name);
      return agent && { ...agent };
    },
    async pruneRuns(before) {
      let count = 0;
      for (const [id, run] of runs) {
        if (TERMINAL_RUN_STATUSES.has(run.record.status) && (run.record.endedAt ?? Infinity) < before && runs.delete(id)) count++;
      }
      return count;
    },
  };
}
