import type { EventLog, LoggedEvent, StreamAppend } from '../store/interfaces.js';

/** Told once a batch of events is in the log (or failed to get there). */
export type CommitCallback = (error?: unknown) => void;

/**
 * Group commit for stream events (SPEC ST-12): everything appended during one event-loop turn,
 * across every stream, reaches the log in one `append` call, so SQLite pays one transaction per
 * turn instead of one per token. Batches are written one at a time, in order, so each stream's
 * events land in sequence. Callers never wait: producers never block on subscribers or storage.
 */
export class EventLogWriter {
  private batch: StreamAppend[] = [];
  private callbacks: CommitCallback[] = [];
  private scheduled = false;
  private writing: Promise<void> | undefined;

  constructor(private readonly log: EventLog) {}

  /** Queues `events` of one stream; `committed` runs after they are durable, in append order. */
  enqueue(streamId: string, events: LoggedEvent[], committed: CommitCallback): void {
    this.batch.push({ streamId, events });
    this.callbacks.push(committed);
    this.schedule();
  }

  /** Resolves once everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.writing || this.batch.length > 0) {
      if (this.writing) await this.writing;
      else await this.write();
    }
  }

  private schedule(): void {
    if (this.scheduled || this.writing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.write();
    });
  }

  private write(): Promise<void> {
    if (this.writing || this.batch.length === 0) return this.writing ?? Promise.resolve();
    const batch = this.batch;
    const callbacks = this.callbacks;
    this.batch = [];
    this.callbacks = [];
    this.writing = this.log.append(batch).then(
      () => {
        for (const callback of callbacks) callback();
      },
      (error: unknown) => {
        for (const callback of callbacks) callback(error);
      },
    );
    return this.writing.finally(() => {
      this.writing = undefined;
      if (this.batch.length > 0) this.schedule();
    });
  }
}
