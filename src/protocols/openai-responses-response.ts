import { BreakwaterError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { CanonicalResponse, FinishReason, Message, Usage } from '../core/types.js';
import { toOpenAIErrorObject } from './error-body.js';
import type { ResponsesEcho } from './openai-responses-request.js';

/** The lifecycle of a Response. `queued` and `in_progress` are live; the rest are terminal. */
export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete';

/** Status of one output item. */
export type ResponseItemStatus = 'in_progress' | 'completed' | 'incomplete';

/** Why a response stopped short. */
export type IncompleteReason = 'max_output_tokens' | 'content_filter';

/** A text part of an output message. */
export interface ResponseOutputText {
  type: 'output_text';
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}

/** An assistant message item (`msg_…`). */
export interface ResponseMessageItem {
  id: string;
  type: 'message';
  status: ResponseItemStatus;
  role: 'assistant';
  content: ResponseOutputText[];
}

/** A function call item (`fc_…`); `call_id` is what the client's `function_call_output` answers. */
export interface ResponseFunctionCallItem {
  id: string;
  type: 'function_call';
  status: ResponseItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

/** A reasoning item (`rs_…`); the model's reasoning text is given as its summary. */
export interface ResponseReasoningItem {
  id: string;
  type: 'reasoning';
  summary: Array<{ type: 'summary_text'; text: string }>;
}

/** Any output item Breakwater produces. */
export type ResponseOutputItem = ResponseMessageItem | ResponseFunctionCallItem | ResponseReasoningItem;

/** OpenAI's `usage` object of a Response. */
export interface ResponseUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** The Response object (`object: 'response'`), as returned, stored and carried by stream events. */
export interface ResponseObject extends ResponsesEcho {
  id: string;
  object: 'response';
  created_at: number;
  status: ResponseStatus;
  /** OpenAI's error shape plus Breakwater's `code`, `retryable` and safe upstream facts (SPEC SA-4). */
  error: Record<string, unknown> | null;
  incomplete_details: { reason: IncompleteReason } | null;
  model: string;
  output: ResponseOutputItem[];
  usage: ResponseUsage | null;
}

/** Everything a Response object is built from. */
export interface ResponseState {
  /** `resp_…`, chosen by the caller. */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  publicModel: string;
  status: ResponseStatus;
  echo: ResponsesEcho;
  output: ResponseOutputItem[];
  usage?: Usage | null;
  error?: BreakwaterError | null;
  incompleteReason?: IncompleteReason | null;
}

/** Makes output item ids; injectable so tests and replays can be deterministic. */
export type ResponseItemIdFactory = (prefix: 'msg' | 'fc' | 'rs') => string;

/** Fresh ids with ≥ 128 random bits (`msg_…`, `fc_…`, `rs_…`). */
export const newResponseItemId: ResponseItemIdFactory = (prefix) => newId(prefix);

/** A fresh `resp_…` id. */
export function newResponseId(): string {
  return newId('resp');
}

/** The terminal status a finish reason leads to, with `incomplete_details.reason` when it stopped short. */
export function mapFinishReasonToResponseStatus(reason: FinishReason): { status: ResponseStatus; incompleteReason: IncompleteReason | null } {
  switch (reason) {
    case 'length':
      return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
    case 'content_filter':
      return { status: 'incomplete', incompleteReason: 'content_filter' };
    case 'error':
      return { status: 'failed', incompleteReason: null };
    default:
      return { status: 'completed', incompleteReason: null };
  }
}

/** The error a response fails with when the upstream said `error` as its finish reason without details. */
export function finishedWithError(): BreakwaterError {
  return new BreakwaterError('upstream_error', 'the model stopped with an error and no details');
}

/** Our usage as a Response `usage` object, details included (OpenAI always sends them). */
export function toResponsesUsage(usage: Usage): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: usage.cacheReadTokens ?? 0, cache_write_tokens: usage.cacheWriteTokens ?? 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

/**
 * Builds the Response object. Field order follows OpenAI's; echoed request fields come from
 * `state.echo`. `usage` is null until known, as OpenAI sends it while a response runs.
 */
export function toResponsesObject(state: ResponseState): ResponseObject {
  const echo = state.echo;
  return {
    id: state.id,
    object: 'response',
    created_at: state.createdAt,
    status: state.status,
    background: echo.background,
    error: state.error ? toOpenAIErrorObject(state.error) : null,
    incomplete_details: state.incompleteReason ? { reason: state.incompleteReason } : null,
    instructions: echo.instructions,
    max_output_tokens: echo.max_output_tokens,
    model: state.publicModel,
    output: state.output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: echo.previous_response_id,
    reasoning: echo.reasoning,
    store: echo.store,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_p: echo.top_p,
    truncation: echo.truncation,
    usage: state.usage ? toResponsesUsage(state.usage) : null,
    user: echo.user,
    metadata: echo.metadata,
  };
}

/** Options of {@link toOpenAIResponsesResponse}. */
export interface ToResponsesOptions {
  id: string;
  /** Unix seconds. */
  createdAt: number;
  publicModel: string;
  echo: ResponsesEcho;
  newItemId?: ResponseItemIdFactory;
}

/** Groups canonical parts into output items: adjacent text joins one message, adjacent reasoning one item. */
function outputItemsOf(res: CanonicalResponse, newItemId: ResponseItemIdFactory): ResponseOutputItem[] {
  const items: ResponseOutputItem[] = [];
  for (const part of res.content) {
    const last = items.at(-1);
    if (part.type === 'text') {
      if (part.text === '') continue;
      if (last?.type === 'message') last.content[0]!.text += part.text;
      else {
        const content: ResponseOutputText = { type: 'output_text', text: part.text, annotations: [], logprobs: [] };
        items.push({ id: newItemId('msg'), type: 'message', status: 'completed', role: 'assistant', content: [content] });
      }
    } else if (part.type === 'reasoning') {
      // Signature-only and redacted blocks carry no text a client could show.
      if (part.text === '') continue;
      if (last?.type === 'reasoning') last.summary[0]!.text += part.text;
      else items.push({ id: newItemId('rs'), type: 'reasoning', summary: [{ type: 'summary_text', text: part.text }] });
    } else {
      items.push({ id: newItemId('fc'), type: 'function_call', status: 'completed', call_id: part.id, name: part.name, arguments: part.arguments });
    }
  }
  return items;
}

/**
 * Encodes a complete canonical answer as the client's Response object. A response cut short
 * (`length`, `content_filter`) is `incomplete` and so is its last item; `error` is `failed`.
 */
export function toOpenAIResponsesResponse(res: CanonicalResponse, options: ToResponsesOptions): ResponseObject {
  const output = outputItemsOf(res, options.newItemId ?? newResponseItemId);
  const { status, incompleteReason } = mapFinishReasonToResponseStatus(res.finishReason);
  const last = output.at(-1);
  if (status !== 'completed' && last !== undefined && last.type !== 'reasoning') last.status = 'incomplete';
  return toResponsesObject({
    id: options.id,
    createdAt: options.createdAt,
    publicModel: options.publicModel,
    status,
    echo: options.echo,
    output,
    usage: res.usage,
    error: status === 'failed' ? finishedWithError() : null,
    incompleteReason,
  });
}

/**
 * An earlier response's output as canonical assistant turns, for `previous_response_id`: text and
 * function calls of adjacent items form one assistant message; reasoning is dropped as in input.
 */
export function responseOutputToMessages(output: readonly ResponseOutputItem[]): Message[] {
  const content: Message['content'] = [];
  for (const item of output) {
    if (item.type === 'message') {
      for (const part of item.content) if (part.text !== '') content.push({ type: 'text', text: part.text });
    } else if (item.type === 'function_call') {
      content.push({ type: 'tool-call', id: item.call_id, name: item.name, arguments: item.arguments });
    }
  }
  return content.length === 0 ? [] : [{ role: 'assistant', content }];
}
