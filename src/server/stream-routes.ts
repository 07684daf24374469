import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dialect } from '../core/types.js';
import type { KeyRecord } from '../store/interfaces.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import { checkSubscriberRoom, findOwnStream, parseCursor, subscribe } from '../streaming/stream-subscription.js';
import { tenantOf } from '../tenancy/tenant-of.js';
import { anthropicMessagesCodec, openAIChatCodec } from './chat-codecs.js';
import { sendJson } from './http-io.js';
import { STREAM_ID_HEADER } from './resumable-completion.js';
import { SseWriter } from './sse-writer.js';

/** What the stream routes need. */
export interface StreamRouteDeps {
  hub: StreamHub;
  stream: { heartbeatMs: number; subscriberQueueEvents: number; maxSubscribers: number };
}

/** The heartbeat frame of the dialect a stream speaks. */
export function heartbeatFor(dialect: Dialect | undefined): string {
  return dialect === 'anthropic-messages' ? anthropicMessagesCodec.heartbeat : openAIChatCodec.heartbeat;
}

/** The query string of a request URL, parsed. */
export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

function lastEventId(req: IncomingMessage): string | undefined {
  const value = req.headers['last-event-id'];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `GET /v1/streams/{id}` (SPEC ST-1, ST-11): replays the events after `Last-Event-ID` (or
 * `?after=`), then follows the stream live until it ends.
 */
export async function handleStreamResume(deps: StreamRouteDeps, req: IncomingMessage, res: ServerResponse, id: string, key: KeyRecord, signal: AbortSignal): Promise<void> {
  const header = lastEventId(req);
  const after = header !== undefined ? parseCursor(header, 'Last-Event-ID') : parseCursor(queryOf(req).get('after') ?? undefined, 'after');
  const record = await findOwnStream(deps.hub, id, tenantOf(key));
  checkSubscriberRoom(deps.hub, id, deps.stream.maxSubscribers);
  const meta = JSON.parse(record.meta) as { dialect?: Dialect };
  const writer = new SseWriter(res, heartbeatFor(meta.dialect), deps.stream.heartbeatMs);
  writer.commit({ [STREAM_ID_HEADER]: id });
  try {
    await subscribe(deps.hub, id, after, writer.sink(signal), { maxLagEvents: deps.stream.subscriberQueueEvents });
  } finally {
    writer.close();
  }
}

/**
 * `POST /v1/streams/{id}/cancel`: stops a live stream (its partial output and usage are kept);
 * idempotent, a finished stream answers with the status it ended with.
 */
export async function handleStreamCancel(deps: StreamRouteDeps, res: ServerResponse, id: string, key: KeyRecord): Promise<void> {
  const record = await findOwnStream(deps.hub, id, tenantOf(key));
  const status = (await deps.hub.cancelAnywhere(id)) ?? record.status;
  sendJson(res, 200, { id, object: 'stream', status });
}
