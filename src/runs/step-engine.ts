import { startTimer, type Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { EffectRecord, RunRecord, StepRecord, StepUsage } from '../store/interfaces.js';
import type { RunLimits, StepContext, WaitTarget } from './define-agent.js';
import { runEvent, type RunEvent, type RunEventLog } from './run-event-log.js';
import { isRetryable, recordError, reviveError, RunStopped, type StopReason } from './run-stop.js';
import type { RunStore } from '../store/interfaces.js';

/** What a live step attempt produced: its output, and the usage or effect to commit with it. */
export interface StepOutcome {
  output: unknown;
  usage?: StepUsage;
  effect?: Omit<EffectRecord, 'at' | 'result'>;
}

/** One step as the context asks for it. */
export interface StepCall {
  slot: string;
  name: string;
  key: string;
  kind: StepRecord['kind'];
  retries: number;
  timeoutMs: number;
  attempt: (context: StepContext) => Promise<StepOutcome>;
}

/** What a step engine needs from its execution. */
export interface StepEngineDeps {
  store: RunStore;
  log: RunEventLog;
  clock: Clock;
  run: RunRecord;
  limits: RunLimits;
  journal: Map<string, StepRecord>;
  stepOutputMaxBytes: number;
  signal: AbortSignal;
  /** Why the execution stopped, once it did. */
  stopped: () => StopReason | undefined;
  stop: (reason: StopReason) => void;
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5_000;

/** The waiter stored on a parked run: which step parks it and until when. */
interface Waiter {
  slot: string;
  deadline?: number;
}

/**
 * Runs steps against the journal (SPEC LR-2, LR-3, LR-9): a slot found in the journal returns
 * its recorded output (or throws its recorded error) after checking the name; a new one runs
 * live under its retries and timeout, and commits under the lease before the agent continues.
 */
export class StepEngine {
  private replayed = 0;
  private commitSeq: number;
  private steps: number;
  private tokens: number;
  private costMicros: number;

  constructor(private readonly deps: StepEngineDeps) {
    const { run, journal } = deps;
    this.steps = run.steps;
    this.tokens = run.inputTokens + run.outputTokens;
    this.costMicros = run.costMicros;
    let last = -1;
    for (const step of journal.values()) last = Math.max(last, step.seq);
    this.commitSeq = last + 1;
  }

  /** True while the agent is still re-walking steps it committed before (emits are skipped then). */
  get replaying(): boolean {
    return this.replayed < this.deps.journal.size;
  }

  /** A step: recorded output on replay, else live attempts and a commit. */
  async runStep(call: StepCall): Promise<unknown> {
    this.assertRunning();
    const recorded = this.recorded(call);
    if (recorded) return this.replay(recorded);
    this.checkBounds();
    const startedAt = this.deps.clock.now();
    this.emit('step.started', { step: call.key, name: call.name, kind: call.kind });
    let attempt = 0;
    for (;;) {
      attempt++;
      try {
        const outcome = await this.attempt(call, attempt);
        const output = this.encodeOutput(outcome.output);
        await this.commit(call, startedAt, attempt, { output }, outcome);
        return outcome.output;
      } catch (error) {
        this.assertRunning();
        if (attempt <= call.retries && isRetryable(error)) {
          this.emit('step.retry', { step: call.key, attempt, error: recordError(error) });
          await this.deps.clock.sleep(Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)), this.deps.signal).catch(() => this.assertRunning());
          continue;
        }
        await this.commit(call, startedAt, attempt, { error: JSON.stringify(recordError(error)) });
        throw error;
      }
    }
  }

  /** A wait step (sleep, signal, approval): resolved now, or the run parks and this execution stops. */
  async runWait(call: Omit<StepCall, 'attempt' | 'retries' | 'timeoutMs'>, target: WaitTarget | undefined, timeoutMs: number | undefined): Promise<unknown> {
    this.assertRunning();
    const recorded = this.recorded(call);
    if (recorded) return this.replay(recorded);
    this.checkBounds();
    const now = this.deps.clock.now();
    const signal = target === undefined ? undefined : 'signal' in target ? target.signal : `approval:${target.approval}`;
    // A woken run reaching its wait again keeps the deadline set when it first parked.
    const previous = this.deps.run.waiter ? (JSON.parse(this.deps.run.waiter) as Waiter) : undefined;
    const deadline = previous?.slot === call.slot ? previous.deadline : timeoutMs === undefined ? undefined : now + timeoutMs;
    const waiter: Waiter = { slot: call.slot, ...(deadline !== undefined ? { deadline } : {}) };
    const parked = [runEvent('run.waiting', this.deps.run.id, now, { step: call.key, signal: signal ?? null, deadline: deadline ?? null })];
    if (target && 'approval' in target && previous?.slot !== call.slot) {
      parked.unshift(runEvent('approval.requested', this.deps.run.id, now, { step: call.key, approval_id: target.approval, details: target.details ?? null }));
    }
    const step = { runId: this.deps.run.id, slot: call.slot, seq: this.commitSeq++, key: call.key, name: call.name, kind: call.kind, attempts: 1, startedAt: now, endedAt: now, epoch: this.deps.run.epoch };
    const resolved = [runEvent('step.completed', this.deps.run.id, now, { step: call.key, name: call.name, kind: call.kind })];
    const outcome = await this.deps.log.commitWait({ step, signal, deadline, waiter: JSON.stringify(waiter) }, resolved, parked);
    if (outcome.kind === 'lost') throw this.halt('lost');
    if (outcome.kind === 'parked') throw this.halt('parked');
    this.steps++;
    return JSON.parse(outcome.output);
  }

  /** Publishes a provisional event unless the agent is re-walking its journal. */
  emit(type: string, fields: Record<string, unknown>): void {
    if (!this.replaying) this.deps.log.emit(runEvent(type, this.deps.run.id, this.deps.clock.now(), fields));
  }

  /** Throws when the execution stopped: agent code never passes a step boundary after a cancel or lease loss. */
  assertRunning(): void {
    const reason = this.deps.stopped();
    if (reason) throw new RunStopped(reason);
  }

  private halt(reason: StopReason): RunStopped {
    this.deps.stop(reason);
    return new RunStopped(reason);
  }

  private recorded(call: Pick<StepCall, 'slot' | 'name' | 'key'>): StepRecord | undefined {
    const recorded = this.deps.journal.get(call.slot);
    if (!recorded) return undefined;
    if (recorded.name !== call.name || recorded.key !== call.key) {
      throw new BreakwaterError(
        'workflow_diverged',
        `step ${call.slot} is '${call.key}' now but the journal recorded '${recorded.key}'; the agent's code changed under a running run — finish or cancel old runs before changing step order`,
      );
    }
    return recorded;
  }

  private async replay(recorded: StepRecord): Promise<unknown> {
    this.replayed++;
    if (recorded.status === 'failed') throw reviveError(JSON.parse(recorded.error ?? '{}'));
    return recorded.output === undefined ? undefined : JSON.parse(recorded.output);
  }

  private checkBounds(): void {
    const { limits, run, clock } = this.deps;
    const over = (reason: string, what: string) => new BreakwaterError('run_limit_exceeded', `the run ${what}; raise its limits to allow more`, { reason });
    if (this.steps >= limits.maxSteps) throw over('max_steps', `reached its ${limits.maxSteps}-step limit`);
    if (clock.now() - run.createdAt > limits.maxWallMs) throw over('max_wall_clock', `ran longer than ${limits.maxWallMs} ms`);
    if (limits.maxTokens !== undefined && this.tokens >= limits.maxTokens) throw over('max_tokens', `used its ${limits.maxTokens} tokens`);
    if (this.costMicros >= limits.maxCostMicros) throw over('max_cost', `spent its ${limits.maxCostMicros} micro-USD`);
  }

  /** One live attempt under the run's signal and the step's timeout; a function ignoring its signal cannot hold the step. */
  private async attempt(call: StepCall, attempt: number): Promise<StepOutcome> {
    const timeout = new AbortController();
    const signal = AbortSignal.any([this.deps.signal, timeout.signal]);
    const cancelTimer = startTimer(this.deps.clock, call.timeoutMs, () =>
      timeout.abort(new BreakwaterError('step_timeout', `step ${call.key} did not finish within ${call.timeoutMs} ms`)),
    );
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.deps.stopped() ? new RunStopped(this.deps.stopped()!) : signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const idempotencyKey = `${this.deps.run.id}:${call.key}`;
      return await Promise.race([call.attempt({ signal, attempt, idempotencyKey }), aborted]);
    } finally {
      cancelTimer();
      signal.removeEventListener('abort', onAbort!);
      aborted.catch(() => {});
    }
  }

  private encodeOutput(output: unknown): string | undefined {
    if (output === undefined) return undefined;
    const text = JSON.stringify(output);
    const max = this.deps.stepOutputMaxBytes;
    if (text !== undefined && Buffer.byteLength(text) > max) {
      throw new BreakwaterError('payload_too_large', `the step output is ${Buffer.byteLength(text)} bytes, over runs.stepOutputMaxBytes (${max}); store large data elsewhere and return a reference`);
    }
    return text;
  }

  private async commit(call: StepCall, startedAt: number, attempts: number, result: { output?: string | undefined; error?: string }, outcome?: StepOutcome): Promise<void> {
    const { run, clock, store } = this.deps;
    const now = clock.now();
    const failed = result.error !== undefined;
    const step: StepRecord = {
      runId: run.id,
      slot: call.slot,
      seq: this.commitSeq++,
      key: call.key,
      name: call.name,
      kind: call.kind,
      status: failed ? 'failed' : 'completed',
      output: result.output,
      error: result.error,
      attempts,
      startedAt,
      endedAt: now,
      epoch: run.epoch,
    };
    const type = failed ? (call.kind === 'tool' ? 'tool.error' : 'step.failed') : 'step.completed';
    const fields: Record<string, unknown> = { step: call.key, name: call.name, kind: call.kind, attempts };
    if (failed) fields.error = JSON.parse(result.error!);
    const effect = outcome?.effect && { ...outcome.effect, result: result.output, at: now };
    const events: RunEvent[] = [runEvent(type, run.id, now, fields)];
    const lease = { runId: run.id, epoch: run.epoch, owner: run.owner ?? '' };
    const ok = await this.deps.log.commit(events, (numbered) => store.commitStep(lease, { step, effect, usage: outcome?.usage, events: numbered }, now));
    if (!ok) throw this.halt('lost');
    this.steps++;
    if (outcome?.usage) {
      this.tokens += outcome.usage.inputTokens + outcome.usage.outputTokens;
      this.costMicros += outcome.usage.costMicros;
    }
  }
}
