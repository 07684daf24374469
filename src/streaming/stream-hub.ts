import type { Logger } from 'pino';
import { startTimer, type CancelTimer, type Clock } from '../core/clock.js';
import { BreakwaterError, toBreakwaterError } from '../core/errors.js';
import type { StreamPart } from '../core/types.js';
import type { SseEvent } from '../protocols/sse.js';
import type { EventLog, LoggedEvent, StreamRecord, StreamStatus } from '../store/interfaces.js';
import type { CancelBus } from './cancel-bus.js';
import { EventLogWriter } from './event-log-writer.js';
import { LiveStream } from './live-stream.js';

/** Turns canonical parts into a client dialect's events; `cancelled` ends a cancelled stream. */
export interface LogEncoder {
  encode(part: StreamPart): SseEvent[];
  /** The dialect's own terminal events for a cancel; without it the cancel is an in-band error. */
  cancel?(): SseEvent[];
}

/** An upstream stream that has begun. */
export interface OpenedUpstream {
  parts: AsyncIterable<StreamPart>;
  /** The deployment serving it, for metrics. */
  servedBy?: string;
  /** Whether its upstream was cold (SPEC CS-3), for the TTFT metric's `cold` label. */
  cold?: boolean;
  /** Response-level headers for the creating client (served-by, attempts…). */
  headers?: Record<string, string>;
}

/** What to produce into a new stream. */
export interface ProducerSpec {
  id: string;
  tenant: string;
  kind: StreamRecord['kind'];
  /** Facts a resuming client needs, stored with the stream. */
  meta: Record<string, unknown>;
  encoder: LogEncoder;
  /** Events logged before the upstream is even asked (the Responses API's `response.created`). */
  initialEvents?: SseEvent[];
  /** What the stream describes as of now (a Response object), for readers that poll. */
  snapshot?: () => unknown;
  /** Opens the upstream; `signal` is the stream's own, never a client's. */
  open(signal: AbortSignal): Promise<OpenedUpstream>;
  /** Keep generating with nobody attached (background responses); else the detach grace applies. */
  keepWhenDetached: boolean;
  /** Runs once the stream ended and its terminal event is durable. */
  onEnd?(live: LiveStream): Promise<void> | void;
  /** Stream metrics (SPEC SA-1): content counts once committed, when readers can see it. */
  observer?: StreamObserverLike;
}

/** What the hub reports to a stream's metrics. */
export interface StreamObserverLike {
  setDeployment(deployment: string, cold?: boolean): void;
  content(): void;
  end(outcome: 'completed' | 'failed' | 'disconnected' | 'cancelled'): unknown;
}

/** Settings of a {@link StreamHub}. */
export interface StreamHubOptions {
  log: EventLog;
  clock: Clock;
  /** A stream without subscribers for this long is cancelled (SPEC ST-3, ST-11). */
  detachGraceMs: number;
  /** How long a finished stream stays readable (SPEC ST-13). */
  retentionMs: number;
  logger?: Logger;
}

/** Far enough in the future that an active stream never expires. */
const ACTIVE_EXPIRY = Number.MAX_SAFE_INTEGER;

const isContentPart = (part: StreamPart) =>
  part.type === 'text-delta' || part.type === 'reasoning-delta' || part.type === 'tool-call-start' || part.type === 'tool-call-delta';

const cancelledError = (why: string) => new BreakwaterError('cancelled', why, { reason: 'cancelled' });

/**
 * The streams this process produces (SPEC M6). Each stream's producer runs detached from any
 * client: it encodes upstream parts into the client dialect's events, numbers them, and hands them
 * to the group-commit writer; subscribers see events only once committed (SPEC ST-12). A client
 * leaving detaches, never cancels; a stream nobody watches for `detachGraceMs` is cancelled.
 */
export class StreamHub {
  private readonly live = new Map<string, LiveStream>();
  private readonly graceTimers = new Map<string, CancelTimer>();
  /** Grace periods of adopted streams that have their own (runs: `runs.detachGraceMs`). */
  private readonly graceMs = new Map<string, number>();
  private readonly writer: EventLogWriter;
  private cancelBus: CancelBus | undefined;

  constructor(private readonly options: StreamHubOptions) {
    this.writer = new EventLogWriter(options.log);
  }

  get log(): EventLog {
    return this.options.log;
  }

  /** The stream if this process is producing it. */
  get(id: string): LiveStream | undefined {
    return this.live.get(id);
  }

  /** Number of streams this process is producing now. */
  get activeCount(): number {
    return this.live.size;
  }

  /** Records a new stream and starts its producer; the caller awaits `opened` if it cares. */
  async start(spec: ProducerSpec): Promise<LiveStream> {
    const record: StreamRecord = {
      id: spec.id,
      tenant: spec.tenant,
      kind: spec.kind,
      status: 'active',
      createdAt: this.options.clock.now(),
      expiresAt: ACTIVE_EXPIRY,
      meta: JSON.stringify(spec.meta),
    };
    await this.options.log.createStream(record);
    const live = new LiveStream(record);
    live.snapshot = spec.snapshot;
    this.live.set(spec.id, live);
    void this.produce(live, spec);
    // Until the creator attaches, the stream counts as watched; `detach` starts the grace.
    if (!spec.keepWhenDetached) this.attach(live);
    return live;
  }

  /** Counts a subscriber in (stopping any detach grace). */
  attach(live: LiveStream): void {
    live.subscribers++;
    this.graceTimers.get(live.id)?.();
    this.graceTimers.delete(live.id);
  }

  /** Counts a subscriber out; the last one leaving starts the grace unless the stream is kept. */
  detach(live: LiveStream, keepWhenDetached = false, regrace = false): void {
    // `regrace`: a reader on another replica still follows; wait another grace without counting anyone out.
    if (!regrace) live.subscribers = Math.max(0, live.subscribers - 1);
    if (!keepWhenDetached) this.startGrace(live);
  }

  /**
   * Serves a stream produced elsewhere in this process (a run's executor, which writes its own
   * log) to subscribers here. Unless kept, nobody attached for the detach grace cancels it.
   */
  adopt(live: LiveStream, keepWhenDetached: boolean, graceMs = this.options.detachGraceMs): void {
    this.live.set(live.id, live);
    this.graceMs.set(live.id, graceMs);
    if (!keepWhenDetached) this.startGrace(live);
  }

  /** Stops serving an adopted stream; its subscribers go on following the log. */
  release(live: LiveStream, status: StreamStatus): void {
    if (this.live.get(live.id) === live) {
      this.live.delete(live.id);
      this.graceMs.delete(live.id);
    }
    this.graceTimers.get(live.id)?.();
    this.graceTimers.delete(live.id);
    live.finish(status);
  }

  /** The hub's clock, for subscribers that poll. */
  get clock(): Clock {
    return this.options.clock;
  }

  private startGrace(live: LiveStream): void {
    if (live.subscribers > 0 || live.status !== 'active' || this.graceTimers.has(live.id)) return;
    const cancel = startTimer(this.options.clock, this.graceMs.get(live.id) ?? this.options.detachGraceMs, () => {
      this.graceTimers.delete(live.id);
      if (live.subscribers === 0) void this.graceExpired(live);
    });
    this.graceTimers.set(live.id, cancel);
  }

  /** Cancels an unwatched stream, unless a reader on another replica follows it (then waits another grace). */
  private async graceExpired(live: LiveStream): Promise<void> {
    const watched = await this.options.log.watchedElsewhere?.(live.id).catch(() => false);
    if (live.subscribers > 0) return;
    if (watched) this.detach(live, false, true);
    else this.cancel(live.id, 'nobody reattached to the stream within the detach grace period');
  }

  /**
   * Listens for cancels published by other replicas and stops the streams produced here; without
   * a bus, a cancel reaches only streams of this process.
   */
  async connectCancelBus(bus: CancelBus): Promise<void> {
    this.cancelBus = bus;
    await bus.subscribe((id) => {
      this.cancel(id, 'the stream was cancelled');
    });
  }

  /**
   * Cancels a stream wherever it is produced: here directly, elsewhere through the cancel bus.
   * Resolves with the status it ended with, or `active` if no producer ended it within `waitMs`.
   */
  async cancelAnywhere(id: string, waitMs = 2_000): Promise<StreamStatus | undefined> {
    const live = this.live.get(id);
    if (live) {
      if (this.cancel(id)) await live.ended;
      return live.status;
    }
    const record = await this.options.log.getStream(id);
    if (!record || record.status !== 'active' || !this.cancelBus) return record?.status;
    await this.cancelBus.publish(id);
    const deadline = this.options.clock.now() + waitMs;
    for (;;) {
      const now = await this.options.log.getStream(id);
      if (!now || now.status !== 'active' || this.options.clock.now() >= deadline) return now?.status;
      await this.options.clock.sleep(25);
    }
  }

  /** Stops a live stream at its next part; the partial output stays in the log. False if not live here. */
  cancel(id: string, why = 'the stream was cancelled'): boolean {
    const live = this.live.get(id);
    if (!live || live.status !== 'active') return false;
    if (!live.cancelRequested) {
      live.cancelRequested = true;
      live.controller.abort(cancelledError(why));
    }
    return true;
  }

  /**
   * Ends streams left `active` by a process that died (single-process setups; with shared
   * storage the lease owner's replica does this, SPEC ST-14): clients waiting on them get a
   * terminal event instead of silence.
   */
  async recoverOrphans(terminal: (record: StreamRecord, seq: number) => SseEvent): Promise<StreamRecord[]> {
    const log = this.options.log;
    const recovered: StreamRecord[] = [];
    for (const record of await log.listActive()) {
      // A run's stream stays open across owners: the worker that resumes the run continues it.
      if (this.live.has(record.id) || record.kind === 'run') continue;
      // A shared log: the stream may have a live producer on another replica.
      if (log.claimOrphan && !(await log.claimOrphan(record.id))) continue;
      let last = -1;
      for (let page = await log.read(record.id, -1, 1000); page.length > 0; page = await log.read(record.id, last, 1000)) last = page[page.length - 1]!.seq;
      const event = terminal(record, last + 1);
      await log.append([{ streamId: record.id, events: [{ seq: last + 1, event: event.event, data: event.data }] }]);
      const now = this.options.clock.now();
      await log.endStream(record.id, 'interrupted', now, now + this.options.retentionMs);
      recovered.push(record);
    }
    return recovered;
  }

  /** Cancels every live stream and waits for their terminal events (shutdown). */
  async close(): Promise<void> {
    const streams = [...this.live.values()];
    for (const live of streams) this.cancel(live.id, 'the gateway is shutting down');
    await Promise.all(streams.map((live) => live.ended));
    await this.writer.flush();
    for (const cancel of this.graceTimers.values()) cancel();
    this.graceTimers.clear();
  }

  private async produce(live: LiveStream, spec: ProducerSpec): Promise<void> {
    let seq = -1;
    const observer = spec.observer;
    const emit = (events: SseEvent[], content = false) => {
      if (events.length === 0) return;
      const logged: LoggedEvent[] = events.map((event) => ({ seq: ++seq, event: event.event, data: event.data }));
      this.writer.enqueue(live.id, logged, (error) => {
        if (error) {
          this.options.logger?.error({ err: error, stream: live.id }, 'stream event log append failed');
          return;
        }
        live.publish(logged);
        if (content) observer?.content();
      });
    };
    const endWith = (error: BreakwaterError): 'failed' | 'cancelled' => {
      if (live.cancelRequested) {
        emit(spec.encoder.cancel?.() ?? spec.encoder.encode({ type: 'error', error }));
        return 'cancelled';
      }
      emit(spec.encoder.encode({ type: 'error', error }));
      return 'failed';
    };
    let status: Exclude<StreamStatus, 'active'> = 'completed';
    if (spec.initialEvents) emit(spec.initialEvents);
    try {
      const upstream = await spec.open(live.controller.signal);
      live.headers = upstream.headers ?? {};
      if (upstream.servedBy !== undefined) observer?.setDeployment(upstream.servedBy, upstream.cold);
      live.markOpened();
      let finished = false;
      for await (const part of upstream.parts) {
        if (part.type === 'error') {
          status = endWith(part.error);
          finished = true;
          break;
        }
        emit(spec.encoder.encode(part), observer !== undefined && isContentPart(part));
        if (part.type === 'finish') finished = true;
      }
      if (!finished) status = endWith(live.cancelRequested ? cancelledError('the stream was cancelled') : new BreakwaterError('upstream_error', 'the stream ended without finishing', { reason: 'stream_truncated' }));
    } catch (thrown) {
      const error = live.cancelRequested ? cancelledError('the stream was cancelled') : toBreakwaterError(thrown);
      live.markOpenFailed(error);
      status = endWith(error);
    }
    await this.writer.flush();
    const now = this.options.clock.now();
    try {
      await this.options.log.endStream(live.id, status, now, now + this.options.retentionMs);
    } catch (error) {
      this.options.logger?.error({ err: error, stream: live.id }, 'ending a stream in the event log failed');
    }
    live.finish(status);
    observer?.end(status);
    this.graceTimers.get(live.id)?.();
    this.graceTimers.delete(live.id);
    this.live.delete(live.id);
    try {
      await spec.onEnd?.(live);
    } catch (error) {
      this.options.logger?.error({ err: error, stream: live.id }, 'stream end hook failed');
    }
    live.markEnded();
  }
}
