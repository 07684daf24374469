import { randomUUID } from 'node:crypto';
import type {
  CanonicalResponse,
  FinishReason,
  ReasoningPart,
  TextPart,
  ToolCallPart,
  Usage,
} from '../core/types.js';

type JsonRecord = Record<string, unknown>;

/** Hooks a compatible server may override when its answers differ from OpenAI's. */
export interface OpenAIChatDecodeOptions {
  /** Reads an upstream `usage` object; `undefined` when it carries no counts. */
  convertUsage?: (raw: unknown) => Usage | undefined;
  mapFinishReason?: (raw: string | null | undefined) => FinishReason;
}

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A fresh `chatcmpl-…` id (128 random bits) for answers whose upstream gave none. */
export function newChatCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}

/** A fresh tool-call id for servers that omit one. */
export function newToolCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/**
 * Maps an OpenAI-style `finish_reason` to ours. Includes the spellings compatible servers use
 * (TGI `eos_token` / `stop_sequence`, vLLM `abort` stays `other`).
 */
export function mapOpenAIFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'stop':
    case 'eos':
    case 'eos_token':
    case 'stop_sequence':
    case 'end_turn':
      return 'stop';
    case 'length':
    case 'max_tokens':
    case 'model_length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    case 'error':
      return 'error';
    default:
      return 'other';
  }
}

/** Our finish reason in OpenAI's vocabulary; `error` and `other` have no spelling there. */
export function toOpenAIFinishReason(reason: FinishReason): string {
  return reason === 'error' || reason === 'other' ? 'stop' : reason;
}

/**
 * Reads OpenAI usage: `prompt_tokens_details.cached_tokens` → cacheReadTokens,
 * `completion_tokens_details.reasoning_tokens` → reasoningTokens (DeepSeek's
 * `prompt_cache_hit_tokens` as a fallback). `undefined` when no counts are present.
 */
export function convertOpenAIUsage(raw: unknown): Usage | undefined {
  if (!isRecord(raw)) return undefined;
  const input = count(raw.prompt_tokens);
  const output = count(raw.completion_tokens);
  if (input === undefined && output === undefined) return undefined;
  const usage: Usage = { inputTokens: input ?? 0, outputTokens: output ?? 0 };
  const promptDetails = isRecord(raw.prompt_tokens_details) ? raw.prompt_tokens_details : undefined;
  const cached = count(promptDetails?.cached_tokens) ?? count(raw.prompt_cache_hit_tokens);
  if (cached !== undefined) usage.cacheReadTokens = cached;
  const completionDetails = isRecord(raw.completion_tokens_details) ? raw.completion_tokens_details : undefined;
  const reasoning = count(completionDetails?.reasoning_tokens);
  if (reasoning !== undefined) usage.reasoningTokens = reasoning;
  return usage;
}

/** Our usage as an OpenAI `usage` object, details included (OpenAI always sends them). */
export function toOpenAIUsage(usage: Usage): Record<string, unknown> {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

/** Message content may be a string or (on some servers) an array of text parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (isRecord(part) && typeof part.text === 'string') text += part.text;
  return text;
}

/** Tool-call arguments are JSON text; a few servers send the object itself. */
export function argumentsText(value: unknown): string {
  if (typeof value === 'string') return value;
  return value == null ? '' : JSON.stringify(value);
}

function toolCallsOf(raw: unknown): ToolCallPart[] {
  if (!Array.isArray(raw)) return [];
  const calls: ToolCallPart[] = [];
  for (const item of raw) {
    if (!isRecord(item)) continue;
    const fn = isRecord(item.function) ? item.function : {};
    calls.push({
      type: 'tool-call',
      id: typeof item.id === 'string' && item.id !== '' ? item.id : newToolCallId(),
      name: typeof fn.name === 'string' ? fn.name : '',
      arguments: argumentsText(fn.arguments),
    });
  }
  return calls;
}

/** vLLM and DeepSeek put reasoning in `reasoning_content`; newer vLLM and OpenRouter in `reasoning`. */
export function reasoningOf(message: JsonRecord): string {
  if (typeof message.reasoning_content === 'string') return message.reasoning_content;
  return typeof message.reasoning === 'string' ? message.reasoning : '';
}

/**
 * Decodes an upstream Chat Completions answer (lenient: unknown fields are ignored, missing ones
 * defaulted). Only the first choice is read. A `refusal` becomes text, so every dialect sees
 * why the model declined; a validator expecting JSON will then reject it. Without usage the
 * answer carries zero usage flagged `estimated`, for the caller to count.
 */
export function parseOpenAIChatResponse(body: unknown, options: OpenAIChatDecodeOptions = {}): CanonicalResponse {
  const root = isRecord(body) ? body : {};
  const choices = Array.isArray(root.choices) ? root.choices : [];
  const choice = isRecord(choices[0]) ? choices[0] : {};
  const message = isRecord(choice.message) ? choice.message : {};
  const content: Array<TextPart | ReasoningPart | ToolCallPart> = [];
  const reasoning = reasoningOf(message);
  if (reasoning !== '') content.push({ type: 'reasoning', text: reasoning });
  const text = textOf(message.content) || (typeof message.refusal === 'string' ? message.refusal : '');
  if (text !== '') content.push({ type: 'text', text });
  const toolCalls = toolCallsOf(message.tool_calls);
  content.push(...toolCalls);
  const rawFinish = typeof choice.finish_reason === 'string' ? choice.finish_reason : undefined;
  let finishReason = (options.mapFinishReason ?? mapOpenAIFinishReason)(rawFinish);
  // Some servers (older Ollama, llama.cpp) report `stop` even when the answer is tool calls.
  if (toolCalls.length > 0 && finishReason === 'stop') finishReason = 'tool_calls';
  const usage = (options.convertUsage ?? convertOpenAIUsage)(root.usage) ?? { inputTokens: 0, outputTokens: 0, estimated: true };
  const response: CanonicalResponse = {
    id: typeof root.id === 'string' && root.id !== '' ? root.id : newChatCompletionId(),
    model: typeof root.model === 'string' ? root.model : '',
    content,
    finishReason,
    usage,
  };
  if (rawFinish !== undefined) response.rawFinishReason = rawFinish;
  if (typeof root.created === 'number') response.created = root.created;
  return response;
}

/** A `chatcmpl-` id, keeping the upstream id when it already is one. */
export function toChatCompletionId(id: string): string {
  return id.startsWith('chatcmpl-') ? id : `chatcmpl-${id}`;
}

/**
 * Encodes a canonical answer as the client's `chat.completion` JSON under the public model name.
 * Reasoning never enters `content`; when present it is joined into `message.reasoning_content`,
 * the field vLLM and DeepSeek clients already read (the official SDK ignores it).
 */
export function toOpenAIChatResponse(res: CanonicalResponse, publicModel: string): Record<string, unknown> {
  let text = '';
  let reasoning = '';
  const toolCalls: JsonRecord[] = [];
  for (const part of res.content) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'reasoning') reasoning += part.text;
    else toolCalls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments } });
  }
  const message: JsonRecord = {
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning !== '') message.reasoning_content = reasoning;
  return {
    id: toChatCompletionId(res.id),
    object: 'chat.completion',
    created: res.created ?? Math.floor(Date.now() / 1000),
    model: publicModel,
    choices: [{ index: 0, message, logprobs: null, finish_reason: toOpenAIFinishReason(res.finishReason) }],
    usage: toOpenAIUsage(res.usage),
  };
}
