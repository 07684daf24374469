/** One parsed Server-Sent Event. */
export interface ParsedEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Parses whole SSE frames out of `text`; returns the events and the unparsed rest. Comments are skipped. */
export function parseSse(text: string): { events: ParsedEvent[]; rest: string } {
  const events: ParsedEvent[] = [];
  let start = 0;
  for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', start)) {
    const frame = text.slice(start, end);
    start = end + 2;
    const event: ParsedEvent = { data: '' };
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && event.id === undefined && event.event === undefined) continue;
    event.data = data.join('\n');
    events.push(event);
  }
  return { events, rest: text.slice(start) };
}

/**
 * Reads a streamed response event by event until `stop` says so (then cancels the body, as a
 * closed tab would) or the stream ends. Returns every whole event received.
 */
export async function readSse(res: Response, stop?: (event: ParsedEvent, all: ParsedEvent[]) => boolean): Promise<{ events: ParsedEvent[]; ended: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const events: ParsedEvent[] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { events, ended: true };
    buffer += decoder.decode(value, { stream: true });
    const parsed = parseSse(buffer);
    buffer = parsed.rest;
    for (const event of parsed.events) {
      events.push(event);
      if (stop?.(event, events)) {
        await reader.cancel();
        return { events, ended: false };
      }
    }
  }
}

/** The assistant text of OpenAI chat chunks. */
export function chatText(events: ParsedEvent[]): string {
  let text = '';
  for (const event of events) {
    if (event.data === '[DONE]' || !event.data.startsWith('{')) continue;
    const chunk = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: string } }> };
    text += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}
