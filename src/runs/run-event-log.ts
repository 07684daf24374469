import type { Clock } from '../core/clock.js';
import type { SseEvent } from '../protocols/sse.js';
import type { LoggedEvent, RunLease, RunStore, WaitCommit, WaitOutcome } from '../store/interfaces.js';
import type { LiveStream } from '../streaming/live-stream.js';

/** A run event before the log numbers it. */
export type RunEvent = SseEvent & { event: string };

/** Builds a run event: the SSE name, and data carrying the same `type`, the run id and the time. */
export function runEvent(type: string, runId: string, at: number, fields: Record<string, unknown> = {}): RunEvent {
  return { event: type, data: JSON.stringify({ type, run_id: runId, at, ...fields }) };
}

/**
 * The event log of one run as its owner writes it. Every write — a turn's provisional events
 * (LLM deltas, `ctx.emit`) or a step commit with its events — goes through one queue, so events
 * are numbered in the order they reach the store and a sequence number is never skipped or
 * reused; provisional events still pending when a step commits ride in the step's transaction.
 * Subscribers see an event only after its transaction committed (SPEC ST-12), and every write is
 * conditional on the lease, so a stale owner's events never land (SPEC LR-6).
 */
export class RunEventLog {
  private pending: RunEvent[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private scheduled = false;
  /** Set once a write found the lease gone. */
  lost = false;
  /** Told after each committed write (the stall watchdog restarts). */
  onPublish: (() => void) | undefined;

  constructor(
    private readonly store: RunStore,
    private readonly lease: RunLease,
    private readonly live: LiveStream,
    private readonly clock: Clock,
    /** The next sequence number: one past what the log holds. */
    private nextSeq: number,
    private readonly onLost: () => void,
  ) {}

  /** Queues a provisional event; it is written with the rest of this turn's. */
  emit(event: RunEvent): void {
    if (this.lost) return;
    this.pending.push(event);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.enqueue(() => this.writePending()).catch(() => {});
    });
  }

  /** Writes through the store under the lease, with pending events first; false when the lease is gone. */
  commit(events: RunEvent[], write: (numbered: LoggedEvent[]) => Promise<boolean>): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.lost) return false;
      const numbered = this.number(this.nextSeq, [...this.take(), ...events]);
      const ok = await write(numbered);
      return this.settle(ok, numbered);
    });
  }

  /** A wait step: the store picks resolved or parked, and the matching events get the numbers. */
  commitWait(wait: Omit<WaitCommit, 'resolvedEvents' | 'parkedEvents'>, resolved: RunEvent[], parked: RunEvent[]): Promise<WaitOutcome> {
    return this.enqueue(async () => {
      if (this.lost) return { kind: 'lost' } as const;
      const pending = this.take();
      const resolvedEvents = this.number(this.nextSeq, [...pending, ...resolved]);
      const parkedEvents = this.number(this.nextSeq, [...pending, ...parked]);
      const outcome = await this.store.commitWait(this.lease, { ...wait, resolvedEvents, parkedEvents }, this.clock.now());
      this.settle(outcome.kind !== 'lost', outcome.kind === 'resolved' ? resolvedEvents : parkedEvents);
      return outcome;
    });
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    await this.enqueue(() => this.writePending()).catch(() => {});
  }

  private async writePending(): Promise<void> {
    if (this.lost || this.pending.length === 0) return;
    const numbered = this.number(this.nextSeq, this.take());
    const skipped = await this.store.appendEvents([{ lease: this.lease, events: numbered }], this.clock.now());
    this.settle(skipped.length === 0, numbered);
  }

  private settle(ok: boolean, numbered: LoggedEvent[]): boolean {
    if (!ok) {
      this.lost = true;
      this.pending = [];
      this.onLost();
      return false;
    }
    if (numbered.length > 0) {
      this.nextSeq = numbered[numbered.length - 1]!.seq + 1;
      this.live.publish(numbered);
      this.onPublish?.();
    }
    return true;
  }

  private take(): RunEvent[] {
    const events = this.pending;
    this.pending = [];
    return events;
  }

  private number(from: number, events: RunEvent[]): LoggedEvent[] {
    return events.map((event, index) => ({ seq: from + index, event: event.event, data: event.data }));
  }

  private enqueue<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op);
    this.queue = next.catch(() => {});
    return next;
  }
}
