import { BreakwaterError } from '../core/errors.js';
import type { Dialect } from '../core/types.js';
import { toAnthropicErrorBody, toOpenAIErrorObject } from '../protocols/error-body.js';
import type { SseEvent } from '../protocols/sse.js';
import type { Stores, StreamRecord } from '../store/interfaces.js';

const interrupted = () =>
  new BreakwaterError('upstream_error', 'the process producing this stream stopped before it finished', { reason: 'interrupted', retryable: true });

/**
 * The terminal event for a stream whose producer died (SPEC ST-14), in the stream's dialect:
 * an in-band error on chat streams, `response.failed` on Responses streams.
 */
export function interruptedEvent(record: StreamRecord, seq: number): SseEvent {
  const error = interrupted();
  const meta = JSON.parse(record.meta) as { dialect?: Dialect; model?: string };
  if (record.kind === 'responses') {
    const response = { id: record.id, object: 'response', created_at: Math.floor(record.createdAt / 1000), status: 'failed', model: meta.model ?? null, output: [], error: { code: 'server_error', message: error.message } };
    return { event: 'response.failed', data: JSON.stringify({ type: 'response.failed', sequence_number: seq, response }) };
  }
  if (meta.dialect === 'anthropic-messages') return { event: 'error', data: JSON.stringify(toAnthropicErrorBody(error)) };
  return { data: JSON.stringify({ error: toOpenAIErrorObject(error) }) };
}

/** Marks a stored response whose producer died as failed, with the same error its stream ended with. */
export async function failStoredResponse(stores: Pick<Stores, 'responses'>, id: string): Promise<void> {
  const stored = await stores.responses.getResponse(id);
  if (!stored) return;
  const body = JSON.parse(stored.body) as Record<string, unknown>;
  const failed = { ...body, status: 'failed', error: { code: 'server_error', message: interrupted().message } };
  await stores.responses.putResponse({ ...stored, status: 'failed', body: JSON.stringify(failed) });
}
