import type { ServerResponse } from 'node:http';
import type { StreamPart } from '../core/types.js';
import { formatSseEvent, type SseEvent } from '../protocols/sse.js';
import { stampOverhead } from './http-io.js';
import type { SubscriberSink } from '../streaming/stream-subscription.js';
import type { StreamOutcome } from '../observability/stream-metrics.js';

/** SSE response headers (SPEC ST-6): no caching, no transformation, no proxy buffering. */
const SSE_HEADERS = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
});

/**
 * One client's SSE response: commits headers once, writes each part's events in one write (an
 * event never leaves in pieces), waits when the socket is full, and sends the dialect's heartbeat
 * after `heartbeatMs` of silence so proxies with idle timeouts keep the stream open (SPEC ST-5).
 * Heartbeats are only ever written between events.
 */
export class SseWriter {
  private committed = false;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    /** The dialect's keep-alive frame. */
    private readonly heartbeat: string,
    private readonly heartbeatMs: number,
  ) {}

  /** True once the status line and headers went out: failures are in-band from then on. */
  get isCommitted(): boolean {
    return this.committed;
  }

  /** Sends the headers (once) and starts the heartbeat. */
  commit(headers: Record<string, string>): void {
    if (this.committed) return;
    this.committed = true;
    if (headers['x-breakwater-overhead-ms'] === undefined) stampOverhead(this.res);
    this.res.writeHead(200, { ...SSE_HEADERS, ...headers });
    this.touch();
    this.arm(this.heartbeatMs);
  }

  /** Commits early with a heartbeat right away, before the upstream has produced anything. */
  commitEarly(headers: Record<string, string> = {}): void {
    if (this.committed || this.res.writableEnded) return;
    this.commit(headers);
    this.res.write(this.heartbeat);
  }

  /** Writes events of the gateway's own (a Responses stream's `response.created`) in one write. */
  writeEvents(events: readonly SseEvent[]): void {
    let chunk = '';
    for (const event of events) chunk += formatSseEvent(event);
    this.touch();
    this.res.write(chunk);
  }

  /**
   * Writes `parts` in the client's dialect until they end or the client leaves, then ends the
   * response.
   */
  async relay(
    encoder: { encode(part: StreamPart): SseEvent[] },
    parts: AsyncIterable<StreamPart>,
    signal: AbortSignal,
    observer?: ContentObserver,
  ): Promise<StreamOutcome> {
    let outcome: StreamOutcome = 'disconnected';
    try {
      for await (const part of parts) {
        const events = encoder.encode(part);
        if (part.type === 'finish') outcome = 'completed';
        else if (part.type === 'error') outcome = part.error.code === 'cancelled' ? 'cancelled' : 'failed';
        if (events.length === 0) continue;
        let chunk = '';
        for (const event of events) chunk += formatSseEvent(event);
        this.touch();
        const room = this.res.write(chunk);
        if (observer && isContent(part)) observer.content();
        if (!room) await drained(this.res);
        if (signal.aborted) break;
      }
    } finally {
      this.close();
    }
    return signal.aborted && outcome !== 'completed' ? 'disconnected' : outcome;
  }

  /** This response as a stream subscriber's sink (resumable streams). */
  sink(signal: AbortSignal): SubscriberSink {
    return {
      write: (chunk) => {
        this.touch();
        return this.res.write(chunk);
      },
      drained: () => drained(this.res),
      signal,
    };
  }

  /** Stops the heartbeat and ends the response. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.res.writableEnded) this.res.end();
  }

  private touch(): void {
    this.lastWriteAt = performance.now();
  }

  // One timer re-armed from the last write, so an event costs a clock read, not a new timer.
  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      if (this.res.writableEnded) return;
      const silence = performance.now() - this.lastWriteAt;
      if (silence >= this.heartbeatMs) {
        this.res.write(this.heartbeat);
        this.touch();
        this.arm(this.heartbeatMs);
      } else {
        this.arm(this.heartbeatMs - silence);
      }
    }, ms);
    this.timer.unref();
  }
}

/** Told after each content write; the first is the stream's first token (SPEC SA-1). */
export interface ContentObserver {
  content(): void;
}

/** Parts that carry answer content, as opposed to start, usage and the end. */
export function isContent(part: StreamPart): boolean {
  return part.type === 'text-delta' || part.type === 'reasoning-delta' || part.type === 'tool-call-start' || part.type === 'tool-call-delta';
}

/** Waits for the socket to take more, or for the client to leave (then nobody will drain it). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
