import type { ServerResponse } from 'node:http';
import { randomHex128 } from '../core/ids.js';
import type { CanonicalRequest } from '../core/types.js';
import { detachedContext, type Gateway, type RequestContext } from '../gateway/gateway.js';
import type { LiveStream } from '../streaming/live-stream.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import { subscribe } from '../streaming/stream-subscription.js';
import { tenantOf } from '../tenancy/tenant-of.js';
import type { ChatCodec } from './chat-codecs.js';
import { encoderFor, metaHeaders, routeLabel } from './completion-handler.js';
import type { StreamMetrics } from '../observability/stream-metrics.js';
import { SseWriter } from './sse-writer.js';

/** Stream settings a resumable stream uses. */
export interface ResumableStreamSettings {
  heartbeatMs: number;
  earlyCommitMs: number;
  subscriberQueueEvents: number;
}

/** The response header naming a resumable stream (SPEC ST-11). */
export const STREAM_ID_HEADER = 'x-breakwater-stream-id';

/** True when the client opted in with `x-breakwater-resumable: true`. */
export function wantsResumable(header: string | string[] | undefined): boolean {
  return typeof header === 'string' && header.trim().toLowerCase() === 'true';
}

/**
 * Serves a streamed chat request as a resumable stream (SPEC ST-11): the generation runs in the
 * hub, detached from this client; every event carries its log id, a reconnect with
 * `GET /v1/streams/{id}` and `Last-Event-ID` gets exactly the missing events, and a client that
 * leaves only detaches. Until the headers are out, failures keep their HTTP status and a client
 * that leaves cancels (it never learned the stream id).
 */
export async function serveResumableStream(
  codec: ChatCodec,
  deps: { gateway: () => Gateway; hub: StreamHub; stream: ResumableStreamSettings; metrics?: StreamMetrics | undefined },
  res: ServerResponse,
  request: CanonicalRequest,
  ctx: RequestContext,
): Promise<void> {
  const id = `strm_${randomHex128()}`;
  const gateway = deps.gateway();
  const live = await deps.hub.start({
    id,
    tenant: tenantOf(ctx.key),
    kind: 'chat',
    meta: { dialect: codec.dialect, model: request.model },
    encoder: encoderFor(codec, request),
    keepWhenDetached: false,
    observer: deps.metrics?.start(routeLabel(ctx.endpoint), ctx.receivedAtMs),
    open: async (signal) => {
      const session = await gateway.stream(request, detachedContext(ctx, signal));
      return { parts: session.parts, headers: metaHeaders(session), servedBy: session.servedBy, cold: session.cold };
    },
  });
  await attachCreator(deps, res, live, { heartbeat: codec.heartbeat, headers: { [STREAM_ID_HEADER]: id }, signal: ctx.signal, background: false });
}

/** How the client that created a hub stream is attached to it. */
export interface CreatorAttachment {
  heartbeat: string;
  /** Headers to send with the first byte (the stream id). */
  headers: Record<string, string>;
  /** The creating client's request signal. */
  signal: AbortSignal;
  /** A background stream is not cancelled when its creator leaves, early or late. */
  background: boolean;
  /**
   * Commits and starts sending the log when this resolves, if that comes before the first
   * content: for streams whose first events are the gateway's own (`response.created`, SPEC CS-5).
   */
  commitAt?: Promise<void> | undefined;
}

/**
 * Streams a new hub stream to the client that created it. Headers wait for the first content (or
 * the early commit, which carries the stream id) so a failure before it keeps its HTTP status
 * (SPEC ST-5); a client that leaves before the headers went out never learned the id, so its
 * stream is cancelled unless it runs in the background.
 */
export async function attachCreator(
  deps: { hub: StreamHub; stream: ResumableStreamSettings },
  res: ServerResponse,
  live: LiveStream,
  attachment: CreatorAttachment,
): Promise<void> {
  const { hub } = deps;
  const writer = new SseWriter(res, attachment.heartbeat, deps.stream.heartbeatMs);
  const early = setTimeout(() => writer.commitEarly(attachment.headers), deps.stream.earlyCommitMs);
  const leftEarly = () => {
    if (!writer.isCommitted && !attachment.background) hub.cancel(live.id, 'the client left before the stream started');
  };
  attachment.signal.addEventListener('abort', leftEarly, { once: true });
  try {
    // Once committed, a failure is the log's terminal event, so the log can be sent from then on.
    await (attachment.commitAt ? Promise.race([live.opened, attachment.commitAt]) : live.opened);
  } catch (error) {
    if (!writer.isCommitted) throw error;
    // Committed early: the failure is the log's terminal event, sent below.
  } finally {
    clearTimeout(early);
    attachment.signal.removeEventListener('abort', leftEarly);
  }
  writer.commit({ ...attachment.headers, ...live.headers });
  try {
    await subscribe(hub, live.id, -1, writer.sink(attachment.signal), {
      maxLagEvents: deps.stream.subscriberQueueEvents,
      alreadyAttached: !attachment.background,
      keepWhenDetached: attachment.background,
    });
  } finally {
    writer.close();
  }
}
