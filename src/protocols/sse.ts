/** One Server-Sent Event, before framing. */
export interface SseEvent {
  /** The `event:` field; absent for the default `message` event. */
  event?: string;
  /** The `data:` payload (JSON text, or `[DONE]`). */
  data: string;
  /** The `id:` field, for resumable streams. */
  id?: string;
}

/**
 * Frames one event for the wire. The only SSE encoder: every endpoint writes through it, so an
 * event always leaves whole and multi-line data is split per the spec.
 */
export function formatSseEvent(event: SseEvent): string {
  let frame = '';
  if (event.id !== undefined) frame += `id: ${event.id}\n`;
  if (event.event !== undefined) frame += `event: ${event.event}\n`;
  if (event.data.includes('\n')) {
    for (const line of event.data.split('\n')) frame += `data: ${line}\n`;
  } else {
    frame += `data: ${event.data}\n`;
  }
  return frame + '\n';
}

/** A comment frame: keeps idle connections and proxies alive without being an event. */
export const SSE_HEARTBEAT_COMMENT = ': ping\n\n';
