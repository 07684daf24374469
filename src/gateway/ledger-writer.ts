import type { LedgerStore, RequestRecord } from '../store/interfaces.js';

/** Options for {@link LedgerWriter}. */
export interface LedgerWriterOptions {
  /** Flush at least this often while records wait (SPEC §5: 100 ms). */
  flushMs?: number;
  /** Flush as soon as this many records wait (SPEC §5: 500). */
  maxBatch?: number;
  /** Told about a failed flush; the batch stays queued for the next one. */
  onError?: (error: unknown) => void;
}

/**
 * Queues ledger records in memory and writes them in batches off the request path, so no request
 * waits on the database (SPEC §2.2 step 8, PERF-6). A failed batch is retried on the next flush;
 * `close()` flushes what is left.
 */
export class LedgerWriter {
  private queue: RequestRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly flushMs: number;
  private readonly maxBatch: number;

  constructor(
    private readonly store: LedgerStore,
    private readonly options: LedgerWriterOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 100;
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** Records waiting to be written. */
  get backlog(): number {
    return this.queue.length;
  }

  /** Queues one record. Never blocks and never throws. */
  record(record: RequestRecord): void {
    this.queue.push(record);
    if (this.queue.length >= this.maxBatch) this.flushInBackground();
    else this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flushInBackground(), this.flushMs);
    this.timer.unref();
  }

  private flushInBackground(): void {
    // Errors were reported through onError and the batch is requeued; nothing to surface here.
    this.flush().catch(() => {});
  }

  /** Writes everything queued so far. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.store.appendRequests(batch).then(
      () => {
        this.flushing = undefined;
      },
      (error: unknown) => {
        this.flushing = undefined;
        this.queue = batch.concat(this.queue);
        this.options.onError?.(error);
        this.schedule();
        throw error;
      },
    );
    await this.flushing;
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    await this.flush();
  }
}
