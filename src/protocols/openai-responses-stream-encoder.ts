import type { BreakwaterError } from '../core/errors.js';
import type { FinishReason, StreamPart, Usage } from '../core/types.js';
import { toOpenAIErrorObject } from './error-body.js';
import type { ResponsesEcho } from './openai-responses-request.js';
import {
  finishedWithError,
  mapFinishReasonToResponseStatus,
  newResponseItemId,
  toResponsesObject,
  type IncompleteReason,
  type ResponseFunctionCallItem,
  type ResponseItemIdFactory,
  type ResponseItemStatus,
  type ResponseMessageItem,
  type ResponseObject,
  type ResponseOutputItem,
  type ResponseReasoningItem,
  type ResponseStatus,
} from './openai-responses-response.js';
import type { SseEvent } from './sse.js';

/** Options of {@link createOpenAIResponsesStreamEncoder}. */
export interface ResponsesStreamEncoderOptions {
  /** `resp_…`, chosen by the caller. */
  id: string;
  publicModel: string;
  /** Unix seconds. */
  createdAt: number;
  echo: ResponsesEcho;
  /** Status carried by `response.created`: `queued` for background responses; default `in_progress`. */
  initialStatus?: 'queued' | 'in_progress';
  /** The `sequence_number` of the first event this encoder emits; default 0. */
  startingSequenceNumber?: number;
  /** `response.created` was already emitted (e.g. by the request that queued the response); never emit it again. */
  alreadyCreated?: boolean;
  newItemId?: ResponseItemIdFactory;
}

/** Turns canonical parts into the client's Responses stream events and keeps the Response they describe. */
export interface ResponsesStreamEncoder {
  /** Emits `response.created` unless already sent; `encode` calls it implicitly. */
  begin(): SseEvent[];
  encode(part: StreamPart): SseEvent[];
  /** Closes the response as `cancelled`: open items end `incomplete`, then a `response.failed` event carrying status `cancelled`. */
  cancel(): SseEvent[];
  /** The Response as of now: live with the output so far, or terminal. A fresh copy each call. */
  snapshot(): ResponseObject;
  /** The `sequence_number` the next event will carry. */
  readonly nextSequenceNumber: number;
  readonly status: ResponseStatus;
  /** A terminal event was emitted; further parts are ignored. */
  readonly done: boolean;
}

/** The item being streamed; `index` is its output index. */
interface OpenItemBase {
  index: number;
  /** The type of this item's delta events. */
  deltaType: string;
  /** Everything of a delta event before the delta text: serialised once per item, not per token. */
  deltaHead: string;
}
interface OpenMessage extends OpenItemBase {
  kind: 'message';
  item: ResponseMessageItem;
}
interface OpenReasoning extends OpenItemBase {
  kind: 'reasoning';
  item: ResponseReasoningItem;
}
interface OpenCall extends OpenItemBase {
  kind: 'function_call';
  item: ResponseFunctionCallItem;
}
type OpenItem = OpenMessage | OpenReasoning | OpenCall;

/** The prefix of a delta event, up to `"delta":`. */
function deltaHead(type: string, itemId: string, outputIndex: number, fields: string): string {
  return `{"type":"${type}","item_id":${JSON.stringify(itemId)},"output_index":${outputIndex},${fields}"delta":`;
}

const TERMINAL_EVENTS: Readonly<Record<string, string>> = Object.freeze({
  completed: 'response.completed',
  incomplete: 'response.incomplete',
  failed: 'response.failed',
  // OpenAI's event union has no `response.cancelled`; the failed event's response says `cancelled`.
  cancelled: 'response.failed',
});

/**
 * Per-response encoder. Item ids and the fixed part of every delta event are serialised once per
 * item, so a token costs one `JSON.stringify` of its text and a few concatenations. Every event
 * carries `sequence_number`, contiguous from `startingSequenceNumber`.
 */
class ResponsesEncoder implements ResponsesStreamEncoder {
  private seq: number;
  private currentStatus: ResponseStatus;
  private created: boolean;
  private started = false;
  private readonly output: ResponseOutputItem[] = [];
  private open: OpenItem | undefined;
  /** Function calls by canonical index, so late argument fragments still find their item. */
  private readonly calls = new Map<number, OpenCall>();
  private usage: Usage | undefined;
  private final: ResponseObject | undefined;
  private readonly newItemId: ResponseItemIdFactory;

  constructor(private readonly options: ResponsesStreamEncoderOptions) {
    this.seq = options.startingSequenceNumber ?? 0;
    this.currentStatus = options.initialStatus ?? 'in_progress';
    this.created = options.alreadyCreated ?? false;
    this.newItemId = options.newItemId ?? newResponseItemId;
  }

  get nextSequenceNumber(): number {
    return this.seq;
  }

  get status(): ResponseStatus {
    return this.currentStatus;
  }

  get done(): boolean {
    return this.final !== undefined;
  }

  begin(): SseEvent[] {
    if (this.created) return [];
    this.created = true;
    return [this.lifecycle('response.created')];
  }

  encode(part: StreamPart): SseEvent[] {
    if (this.final) return [];
    switch (part.type) {
      case 'start':
        return this.start();
      case 'text-delta':
        return part.text === '' ? [] : this.delta('message', part.text);
      case 'reasoning-delta':
        // Signatures and redacted blocks have no text a client can show.
        return part.text === '' ? [] : this.delta('reasoning', part.text);
      case 'tool-call-start':
        return this.callStart(part.index, part.id, part.name);
      case 'tool-call-delta':
        return part.argumentsDelta === '' ? [] : this.callDelta(part.index, part.argumentsDelta);
      case 'usage':
        this.usage = part.usage;
        return [];
      case 'finish':
        return this.finish(part.finishReason, part.usage ?? this.usage);
      case 'error':
        return this.fail(part.error, part.usage ?? this.usage);
    }
  }

  cancel(): SseEvent[] {
    if (this.final) return [];
    const events = this.begin();
    this.closeOpen(events, 'incomplete');
    this.terminate(events, 'cancelled', null, null, this.usage);
    return events;
  }

  snapshot(): ResponseObject {
    if (this.final) return structuredClone(this.final);
    return this.responseObject(this.currentStatus, null, null, undefined, true);
  }

  private start(): SseEvent[] {
    const events = this.begin();
    if (this.started) return events;
    this.started = true;
    this.currentStatus = 'in_progress';
    events.push(this.lifecycle('response.in_progress'));
    return events;
  }

  /** Text and reasoning fragments: open the item when another kind is open, then one prebuilt-prefix event. */
  private delta(kind: 'message' | 'reasoning', text: string): SseEvent[] {
    let events: SseEvent[] | undefined;
    let open = this.open;
    if (open?.kind !== kind) {
      events = this.start();
      open = kind === 'message' ? this.openMessage(events) : this.openReasoning(events);
    }
    if (open.kind === 'message') open.item.content[0]!.text += text;
    else if (open.kind === 'reasoning') open.item.summary[0]!.text += text;
    const event = this.raw(open.deltaType, open.deltaHead + JSON.stringify(text));
    if (events === undefined) return [event];
    events.push(event);
    return events;
  }

  private callStart(callIndex: number, callId: string, name: string): SseEvent[] {
    const events = this.start();
    this.closeOpen(events, 'completed');
    const item: ResponseFunctionCallItem = { id: this.newItemId('fc'), type: 'function_call', status: 'in_progress', call_id: callId, name, arguments: '' };
    const index = this.output.length;
    const deltaType = 'response.function_call_arguments.delta';
    const open: OpenCall = { kind: 'function_call', item, index, deltaType, deltaHead: deltaHead(deltaType, item.id, index, '') };
    this.addItem(events, open);
    this.calls.set(callIndex, open);
    return events;
  }

  /**
   * Upstreams send a call's fragments before the next call starts; should one interleave, the
   * fragment is still emitted for its own item and the terminal event carries the exact arguments.
   */
  private callDelta(index: number, delta: string): SseEvent[] {
    const call = this.calls.get(index);
    if (call === undefined) return [];
    call.item.arguments += delta;
    return [this.raw(call.deltaType, call.deltaHead + JSON.stringify(delta))];
  }

  private openMessage(events: SseEvent[]): OpenMessage {
    this.closeOpen(events, 'completed');
    const item: ResponseMessageItem = { id: this.newItemId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    const index = this.output.length;
    const deltaType = 'response.output_text.delta';
    const head = deltaHead(deltaType, item.id, index, '"content_index":0,"logprobs":[],');
    const open: OpenMessage = { kind: 'message', item, index, deltaType, deltaHead: head };
    this.addItem(events, open);
    const part = { type: 'output_text' as const, text: '', annotations: [], logprobs: [] };
    events.push(this.event('response.content_part.added', { item_id: item.id, output_index: open.index, content_index: 0, part }));
    item.content.push({ ...part });
    return open;
  }

  private openReasoning(events: SseEvent[]): OpenReasoning {
    this.closeOpen(events, 'completed');
    const item: ResponseReasoningItem = { id: this.newItemId('rs'), type: 'reasoning', summary: [] };
    const index = this.output.length;
    const deltaType = 'response.reasoning_summary_text.delta';
    const open: OpenReasoning = { kind: 'reasoning', item, index, deltaType, deltaHead: deltaHead(deltaType, item.id, index, '"summary_index":0,') };
    this.addItem(events, open);
    const part = { type: 'summary_text' as const, text: '' };
    events.push(this.event('response.reasoning_summary_part.added', { item_id: item.id, output_index: open.index, summary_index: 0, part }));
    item.summary.push({ ...part });
    return open;
  }

  private addItem(events: SseEvent[], open: OpenItem): void {
    this.output.push(open.item);
    this.open = open;
    events.push(this.event('response.output_item.added', { output_index: open.index, item: open.item }));
  }

  private closeOpen(events: SseEvent[], status: ResponseItemStatus): void {
    const open = this.open;
    if (open === undefined) return;
    this.open = undefined;
    const base = { item_id: open.item.id, output_index: open.index };
    if (open.kind === 'message') {
      const part = open.item.content[0]!;
      events.push(this.event('response.output_text.done', { ...base, content_index: 0, text: part.text, logprobs: [] }));
      events.push(this.event('response.content_part.done', { ...base, content_index: 0, part }));
      open.item.status = status;
    } else if (open.kind === 'reasoning') {
      const part = open.item.summary[0]!;
      events.push(this.event('response.reasoning_summary_text.done', { ...base, summary_index: 0, text: part.text }));
      events.push(this.event('response.reasoning_summary_part.done', { ...base, summary_index: 0, part }));
    } else {
      const { name, arguments: args } = open.item;
      events.push(this.event('response.function_call_arguments.done', { ...base, name, arguments: args }));
      open.item.status = status;
    }
    events.push(this.event('response.output_item.done', { output_index: open.index, item: open.item }));
  }

  private finish(reason: FinishReason, usage: Usage | undefined): SseEvent[] {
    const { status, incompleteReason } = mapFinishReasonToResponseStatus(reason);
    if (status === 'failed') return this.fail(finishedWithError(), usage);
    const events = this.start();
    this.closeOpen(events, status === 'completed' ? 'completed' : 'incomplete');
    this.terminate(events, status, null, incompleteReason, usage);
    return events;
  }

  /**
   * Ends in failure (SPEC SA-4): an `error` event, then `response.failed`. The error event keeps
   * OpenAI's documented top-level `code`/`message`/`param` and also the nested `error` object that
   * OpenAI's wire carries, which is what makes the official SDKs raise instead of ending quietly.
   */
  private fail(error: BreakwaterError, usage: Usage | undefined): SseEvent[] {
    const events = this.begin();
    this.closeOpen(events, 'incomplete');
    const body = toOpenAIErrorObject(error);
    events.push(this.event('error', { code: error.code, message: error.message, param: error.param ?? null, error: body }));
    this.terminate(events, 'failed', error, null, usage);
    return events;
  }

  private terminate(
    events: SseEvent[],
    status: ResponseStatus,
    error: BreakwaterError | null,
    incompleteReason: IncompleteReason | null,
    usage?: Usage,
  ): void {
    this.currentStatus = status;
    this.final = this.responseObject(status, error, incompleteReason, usage, false);
    events.push(this.event(TERMINAL_EVENTS[status]!, { response: this.final }));
  }

  private responseObject(
    status: ResponseStatus,
    error: BreakwaterError | null,
    incompleteReason: IncompleteReason | null,
    usage: Usage | undefined,
    copy: boolean,
  ): ResponseObject {
    const { id, createdAt, publicModel, echo } = this.options;
    const output = copy ? structuredClone(this.output) : this.output;
    return toResponsesObject({ id, createdAt, publicModel, status, echo, output, usage: usage ?? null, error, incompleteReason });
  }

  /** `response.created` / `response.in_progress`: the response as it stands, without output. */
  private lifecycle(type: string): SseEvent {
    const response = toResponsesObject({ ...this.options, status: this.currentStatus, output: [], usage: null });
    return this.event(type, { response });
  }

  private event(type: string, body: Record<string, unknown>): SseEvent {
    return { event: type, data: JSON.stringify({ type, sequence_number: this.seq++, ...body }) };
  }

  private raw(type: string, head: string): SseEvent {
    return { event: type, data: `${head},"sequence_number":${this.seq++}}` };
  }
}

/**
 * An encoder for `/v1/responses` streams: `response.created` (status `in_progress`, or `queued`
 * for background responses), `response.in_progress` at the first canonical part, then per output
 * item `output_item.added` → deltas → `.done` events → `output_item.done`, and one terminal event:
 * `response.completed`, `response.incomplete` (max tokens, content filter) or `error` +
 * `response.failed`. Reasoning is streamed as a reasoning item's summary text.
 */
export function createOpenAIResponsesStreamEncoder(options: ResponsesStreamEncoderOptions): ResponsesStreamEncoder {
  return new ResponsesEncoder(options);
}
