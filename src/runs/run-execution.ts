import type { Logger } from 'pino';
import { startTimer, type CancelTimer, type Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { Gateway } from '../gateway/gateway.js';
import type { KeyRecord, RunLease, RunRecord, RunStore, StreamStatus } from '../store/interfaces.js';
import { LiveStream } from '../streaming/live-stream.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import { runStreamRecord } from '../store/run-records.js';
import { DEFAULT_RUN_LIMITS, type AgentDefinition, type RunLimits } from './define-agent.js';
import { createRunContext } from './run-context.js';
import { RunEventLog, runEvent, type RunEvent } from './run-event-log.js';
import { recordError, RunStopped, type StopReason } from './run-stop.js';
import { StepEngine } from './step-engine.js';

/** Run settings an execution uses (the `runs:` config section). */
export interface RunSettings {
  leaseMs: number;
  heartbeatMs: number;
  detachGraceMs: number;
  stepOutputMaxBytes: number;
  stallMs: number;
  /** How long a finished run's events stay readable. */
  retentionMs: number;
}

/** What every execution of a process shares. */
export interface ExecutionDeps {
  store: RunStore;
  hub: StreamHub;
  clock: Clock;
  settings: RunSettings;
  gateway: () => Gateway;
  /** The key a run acts as; undefined once it is gone. */
  keyFor: (id: string) => Promise<KeyRecord | undefined>;
  logger?: Logger | undefined;
}

/** The bounds a run was created with, over the agent's and the defaults. */
export function limitsOf(run: RunRecord, agent: AgentDefinition): RunLimits {
  return { ...DEFAULT_RUN_LIMITS, ...agent.limits, ...(JSON.parse(run.limits) as Partial<RunLimits>) };
}

const STREAM_STATUS: Record<StopReason, StreamStatus> = { cancel: 'cancelled', lost: 'interrupted', shutdown: 'interrupted', parked: 'completed' };

/**
 * One claim of one run, from the claim to the end, a park, or losing the lease: replays the
 * journal through the agent code, renews the lease by heartbeat, and ends the run under the lease.
 */
export class RunExecution {
  readonly lease: RunLease;
  readonly done: Promise<void>;
  private readonly live: LiveStream;
  private stopReason: StopReason | undefined;
  private heartbeat: CancelTimer | undefined;
  private stall: CancelTimer | undefined;
  private readonly partial: { step?: string; text: string } = { text: '' };
  /** Set once the agent returned or threw: no timer may be armed after it. */
  private finished = false;

  constructor(
    private readonly deps: ExecutionDeps,
    private readonly run: RunRecord,
    private readonly agent: AgentDefinition,
  ) {
    this.lease = { runId: run.id, epoch: run.epoch, owner: run.owner ?? '' };
    this.live = new LiveStream(runStreamRecord(run));
    // A detach-grace cancel from the hub aborts this controller without going through stop().
    this.live.controller.signal.addEventListener('abort', () => (this.stopReason ??= 'cancel'), { once: true });
    this.done = this.execute().catch((error: unknown) => deps.logger?.error({ err: error, run: run.id }, 'run execution failed'));
  }

  get runId(): string {
    return this.run.id;
  }

  /** Stops at the next step boundary, aborting what is in flight. The first reason wins. */
  stop(reason: StopReason): void {
    if (this.stopReason) return;
    this.stopReason = reason;
    this.live.controller.abort(reason === 'cancel' ? new BreakwaterError('cancelled', 'the run was cancelled') : new RunStopped(reason));
  }

  private async execute(): Promise<void> {
    const { store, hub, clock, settings } = this.deps;
    const [lastSeq, steps] = await Promise.all([store.lastEventSeq(this.run.id), store.listSteps(this.run.id)]);
    this.live.lastSeq = lastSeq;
    const log = new RunEventLog(store, this.lease, this.live, clock, lastSeq + 1, () => this.stop('lost'));
    hub.adopt(this.live, this.agent.onDetach !== 'cancel', settings.detachGraceMs);
    this.armHeartbeat();
    const engine = new StepEngine({
      store,
      log,
      clock,
      run: this.run,
      limits: limitsOf(this.run, this.agent),
      journal: new Map(steps.map((step) => [step.slot, step])),
      stepOutputMaxBytes: settings.stepOutputMaxBytes,
      signal: this.live.controller.signal,
      stopped: () => this.stopReason,
      stop: (reason) => this.stop(reason),
    });
    const emit = (type: string, fields: Record<string, unknown>) => engine.emit(type, fields);
    log.onPublish = () => this.armStall(log);
    log.emit(runEvent('run.started', this.run.id, clock.now(), { epoch: this.run.epoch, resumed: steps.length > 0 }));
    this.armStall(log);
    if (this.run.cancelRequested) this.stop('cancel');
    const ctx = createRunContext({
      runId: this.run.id,
      input: JSON.parse(this.run.input),
      signal: this.live.controller.signal,
      engine,
      agent: this.agent,
      llm: { gateway: this.deps.gateway, key: () => this.key(), clock, run: this.run, emit, partial: this.partial },
    });
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      engine.assertRunning();
      outcome = { ok: true, value: await this.agent.run(ctx, ctx.input) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    this.finished = true;
    this.heartbeat?.();
    this.stall?.();
    await this.settle(log, outcome);
    // A renewal or publish in flight may have re-armed a timer meanwhile.
    this.heartbeat?.();
    this.stall?.();
    hub.release(this.live, this.stopReason ? STREAM_STATUS[this.stopReason] : 'completed');
  }

  /** Ends the run as its outcome says, unless the execution stopped (then the stop decides). */
  private async settle(log: RunEventLog, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): Promise<void> {
    const { store, clock } = this.deps;
    const reason = this.stopReason;
    if (reason === 'parked' || reason === 'lost') return log.flush();
    if (reason === 'shutdown') {
      await log.flush();
      return store.releaseRun(this.lease, clock.now());
    }
    const now = clock.now();
    if (reason === 'cancel') {
      const effects = await store.listEffects(this.run.id);
      const partial = this.partial.step ? { step: this.partial.step, text: this.partial.text } : null;
      const list = effects.map((e) => ({ step: e.stepKey, tool: e.tool, idempotency_key: e.idempotencyKey, result: e.result === undefined ? null : JSON.parse(e.result) }));
      return this.end(log, 'cancelled', { error: JSON.stringify({ code: 'cancelled', message: 'the run was cancelled' }) }, runEvent('run.cancelled', this.run.id, now, { effects: list, partial }));
    }
    if (outcome.ok) {
      const result = outcome.value === undefined ? undefined : JSON.stringify(outcome.value);
      return this.end(log, 'succeeded', { result }, runEvent('run.completed', this.run.id, now, { result: outcome.value ?? null }));
    }
    const error = recordError(outcome.error);
    return this.end(log, 'failed', { error: JSON.stringify(error) }, runEvent('run.failed', this.run.id, now, { error }));
  }

  private async end(log: RunEventLog, status: 'succeeded' | 'failed' | 'cancelled', fields: { result?: string | undefined; error?: string }, event: RunEvent): Promise<void> {
    const { store, clock, settings } = this.deps;
    const now = clock.now();
    const ok = await log.commit([event], (events) => store.finishRun(this.lease, { status, ...fields, events, eventsExpireAt: now + settings.retentionMs }, now));
    if (!ok) this.stopReason ??= 'lost';
  }

  private async key(): Promise<KeyRecord> {
    const key = await this.deps.keyFor(this.run.keyId);
    if (!key) throw new BreakwaterError('invalid_api_key', "the run's key was revoked or deleted; the run cannot act any more", { retryable: false });
    return key;
  }

  private armHeartbeat(): void {
    if (this.finished) return;
    const { store, clock, settings } = this.deps;
    this.heartbeat = startTimer(clock, settings.heartbeatMs, () => {
      if (this.stopReason) return;
      store.renewLease(this.lease, clock.now(), settings.leaseMs).then(
        ({ ok, cancelRequested }) => {
          if (!ok) this.stop('lost');
          else if (cancelRequested) this.stop('cancel');
          if (!this.stopReason) this.armHeartbeat();
        },
        (error: unknown) => {
          this.deps.logger?.warn({ err: error, run: this.run.id }, 'lease renewal failed; retrying');
          this.armHeartbeat();
        },
      );
    });
  }

  /** `run.stalled` after `stallMs` without an event (SPEC ST-7). */
  private armStall(log: RunEventLog): void {
    this.stall?.();
    if (this.finished) return;
    const { clock, settings } = this.deps;
    this.stall = startTimer(clock, settings.stallMs, () => {
      if (this.stopReason) return;
      log.emit(runEvent('run.stalled', this.run.id, clock.now(), { silent_ms: settings.stallMs }));
      this.armStall(log);
    });
  }
}
