import type { LoggedEvent, StreamRecord, StreamStatus } from '../store/interfaces.js';

/** Recent committed events kept in memory per live stream, so live subscribers never read the log. */
const RING_EVENTS = 256;

/**
 * A stream being produced in this process: its committed head, a ring of recent events, the
 * subscribers waiting for more, and the controller that stops its producer.
 */
export class LiveStream {
  /** Highest committed sequence number; -1 before the first event. */
  lastSeq = -1;
  status: StreamStatus = 'active';
  subscribers = 0;
  /** Set once a cancel was asked for, so the producer ends as `cancelled`, not `failed`. */
  cancelRequested = false;
  /** Aborts the producer's upstream. */
  readonly controller = new AbortController();
  /** Resolves once the upstream answered (headers may go out); rejects with a failure before that. */
  readonly opened: Promise<void>;
  /** Resolves once the terminal event is durable and the stream record ended. */
  readonly ended: Promise<void>;
  /** Response-level facts the producer learned (served-by and friends), for the creating client. */
  headers: Record<string, string> = {};
  /** What the stream describes as of now, when its producer can tell (a Response object). */
  snapshot: (() => unknown) | undefined;
  markOpened!: () => void;
  markOpenFailed!: (error: unknown) => void;
  markEnded!: () => void;
  private ring: LoggedEvent[] = [];
  private ringStart = 0;
  private wakers: Array<() => void> = [];

  constructor(readonly record: StreamRecord) {
    this.opened = new Promise<void>((resolve, reject) => {
      this.markOpened = resolve;
      this.markOpenFailed = reject;
    });
    // Nobody may be awaiting `opened` (a background response): an unhandled rejection must not follow.
    this.opened.catch(() => {});
    this.ended = new Promise<void>((resolve) => (this.markEnded = resolve));
  }

  get id(): string {
    return this.record.id;
  }

  /** Makes committed events visible to subscribers. */
  publish(events: LoggedEvent[]): void {
    for (const event of events) this.ring.push(event);
    if (this.ring.length - this.ringStart > RING_EVENTS) {
      this.ringStart = this.ring.length - RING_EVENTS;
      // Compact now and then instead of shifting on every event.
      if (this.ringStart >= RING_EVENTS) {
        this.ring = this.ring.slice(this.ringStart);
        this.ringStart = 0;
      }
    }
    this.lastSeq = events[events.length - 1]?.seq ?? this.lastSeq;
    this.wake();
  }

  /** Marks the stream terminal (its terminal event is already published). */
  finish(status: StreamStatus): void {
    this.status = status;
    this.wake();
  }

  /**
   * Committed events after `after` from memory: `[]` when there are none yet, undefined when some
   * have left the ring and must be read from the log.
   */
  tail(after: number): LoggedEvent[] | undefined {
    if (after >= this.lastSeq) return [];
    const first = this.ring[this.ringStart];
    if (!first || first.seq > after + 1) return undefined;
    return this.ring.slice(this.ringStart + (after + 1 - first.seq));
  }

  /** Resolves at the next publish or finish, or when `signal` aborts. */
  changed(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.wakers.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    if (this.wakers.length === 0) return;
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}
