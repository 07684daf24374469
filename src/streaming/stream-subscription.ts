import { BreakwaterError } from '../core/errors.js';
import { formatSseEvent } from '../protocols/sse.js';
import type { EventLog, LoggedEvent, StreamRecord } from '../store/interfaces.js';
import type { LiveStream } from './live-stream.js';
import type { StreamHub } from './stream-hub.js';

/** Where a subscriber's events go: an SSE response that is already committed. */
export interface SubscriberSink {
  /** Writes whole frames; false when the socket is full. */
  write(chunk: string): boolean;
  /** Resolves when the socket takes more or the client left. */
  drained(): Promise<void>;
  /** Aborted when the client leaves. */
  signal: AbortSignal;
}

/** How a subscription ended. */
export type SubscriptionEnd = 'ended' | 'left' | 'lagged' | 'interrupted';

/** Settings of {@link subscribe}. */
export interface SubscribeOptions {
  /** A subscriber this many events behind while its socket is full is dropped (SPEC ST-9). */
  maxLagEvents: number;
  /** Events read from the log per page on replay. */
  pageSize?: number;
  /** Extra events sent before the replay (the Responses API re-sends `response.created`). */
  prelude?: LoggedEvent[];
  /** Do not count this subscriber for the detach grace (the creator of a background stream). */
  keepWhenDetached?: boolean;
  /** Already counted in (the creating client, attached by `StreamHub.start`). */
  alreadyAttached?: boolean;
  /** Keep following the log, polling this often, while no producer is live here and the stream is open (runs). */
  followMs?: number;
}

const DEFAULT_PAGE = 500;

function frames(events: LoggedEvent[]): string {
  let chunk = '';
  for (const event of events) chunk += formatSseEvent({ id: String(event.seq), event: event.event, data: event.data });
  return chunk;
}

/**
 * Sends a stream's events after `after`, then live ones as they commit, until the stream ends
 * or the client leaves (SPEC ST-1, ST-12, ST-13). Recent events come from the live stream's
 * memory, older ones from the log in pages, so a reconnect gets exactly the missing events.
 * Nothing is queued per subscriber: a slow reader is simply further behind in the log, and one
 * that falls more than `maxLagEvents` behind with a full socket is dropped so it cannot pin the
 * stream (it may resume with its last id).
 */
export async function subscribe(hub: StreamHub, id: string, after: number, sink: SubscriberSink, options: SubscribeOptions): Promise<SubscriptionEnd> {
  const log: EventLog = hub.log;
  let live = hub.get(id);
  if (live && !options.alreadyAttached) hub.attach(live);
  let cursor = after;
  let finalRead = false;
  let lastRead = false;
  try {
    if (options.prelude?.length) sink.write(frames(options.prelude));
    for (;;) {
      if (sink.signal.aborted) return 'left';
      let events = live?.tail(cursor);
      if (events === undefined || !live) events = await log.read(id, cursor, options.pageSize ?? DEFAULT_PAGE);
      if (events.length > 0) {
        cursor = events[events.length - 1]!.seq;
        if (!sink.write(frames(events)) && (await waitForRoom(sink, live, cursor, options.maxLagEvents)) === 'lagged') return 'lagged';
        continue;
      }
      if (live && live.status === 'active') {
        await live.changed(sink.signal);
        continue;
      }
      if (options.followMs === undefined) {
        // A live stream publishes its terminal event before finishing, so an empty tail means done.
        if (live) return 'ended';
        const record = await log.getStream(id);
        if (record?.status !== 'active') {
          // Events may have landed between the read and the status: one last read before ending.
          if (finalRead) return 'ended';
          finalRead = true;
          continue;
        }
        // Produced on another replica (shared log): follow it; its lease ends it if that replica dies (SPEC ST-14).
        if (!log.follow) return 'interrupted';
        await log.follow(id, sink.signal);
        continue;
      }
      // Following a stream produced elsewhere (another process, or a run parked between owners):
      // poll the log until its record ends, then read once more for the terminal events.
      if (live) {
        hub.detach(live, options.keepWhenDetached);
        live = undefined;
      }
      if (lastRead) return 'ended';
      const record = await log.getStream(id);
      if (record?.status !== 'active') {
        lastRead = true;
        continue;
      }
      await hub.clock.sleep(options.followMs, sink.signal).catch(() => {});
      live = hub.get(id);
      if (live) hub.attach(live);
    }
  } finally {
    if (live) hub.detach(live, options.keepWhenDetached);
  }
}

/** Waits for the socket, dropping the subscriber if the stream runs too far ahead meanwhile. */
async function waitForRoom(sink: SubscriberSink, live: LiveStream | undefined, cursor: number, maxLag: number): Promise<'ok' | 'lagged'> {
  if (!live) {
    await sink.drained();
    return 'ok';
  }
  const drained = sink.drained().then(() => true);
  for (;;) {
    if (live.lastSeq - cursor > maxLag) return 'lagged';
    const ready = await Promise.race([drained, live.changed(sink.signal).then(() => false)]);
    if (ready || sink.signal.aborted) return 'ok';
  }
}

/** Parses a resume cursor (`Last-Event-ID`, `?after=`, `starting_after`): an event id, or -1 for all. */
export function parseCursor(value: string | undefined, param: string): number {
  if (value === undefined || value === '') return -1;
  if (!/^-?\d{1,15}$/.test(value) || Number(value) < -1) {
    throw new BreakwaterError('invalid_request', `${param} must be an event id (a non-negative integer)`, { param });
  }
  return Number(value);
}

/** Refuses one more reader of a live stream that already has `max` (SPEC ST-9). */
export function checkSubscriberRoom(hub: StreamHub, id: string, max: number): void {
  const live = hub.get(id);
  if (live && live.subscribers >= max) {
    throw new BreakwaterError('rate_limited', `stream ${id} already has ${max} readers (stream.maxSubscribers)`, { headers: { 'retry-after': '1' } });
  }
}

/** A stream the caller may see: other tenants get 404, exactly as for a stream that does not exist (SPEC SEC-3). */
export async function findOwnStream(hub: StreamHub, id: string, tenant: string): Promise<StreamRecord> {
  const record = hub.get(id)?.record ?? (await hub.log.getStream(id));
  if (!record || record.tenant !== tenant) throw new BreakwaterError('not_found', `no stream with id ${id}`, { param: 'id' });
  return record;
}
