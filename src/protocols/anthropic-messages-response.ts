import type { CanonicalResponse, FinishReason, ReasoningPart, Usage } from '../core/types.js';
import { anthropicToolInput } from './anthropic-messages-upstream-request.js';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

const ANTHROPIC_STOP_REASONS: ReadonlySet<string> = new Set([
  'end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'pause_turn', 'refusal', 'model_context_window_exceeded',
]);

/** Our finish reason for an Anthropic `stop_reason`; unknown and missing reasons are `other`. */
export function mapAnthropicStopReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** The Anthropic `stop_reason` for a canonical finish; the upstream's own reason wins when it agrees. */
export function toAnthropicStopReason(reason: FinishReason, raw?: string, stopSequence?: string): string {
  if (raw !== undefined && ANTHROPIC_STOP_REASONS.has(raw) && mapAnthropicStopReason(raw) === reason) return raw;
  switch (reason) {
    case 'stop':
      return stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Canonical usage from an Anthropic `usage` object. Anthropic's `input_tokens` excludes cached
 * tokens; ours counts every prompt token, so cache reads and writes are added back.
 */
export function usageFromAnthropic(raw: unknown): Usage {
  const usage = isRecord(raw) ? raw : {};
  const cacheRead = count(usage.cache_read_input_tokens);
  const cacheWrite = count(usage.cache_creation_input_tokens);
  const result: Usage = {
    inputTokens: count(usage.input_tokens) + cacheRead + cacheWrite,
    outputTokens: count(usage.output_tokens),
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
  };
  const details = usage.output_tokens_details;
  if (isRecord(details) && typeof details.thinking_tokens === 'number') result.reasoningTokens = details.thinking_tokens;
  return result;
}

/** An Anthropic `usage` object for canonical usage (the inverse of {@link usageFromAnthropic}). */
export function toAnthropicUsage(usage: Usage): Record<string, unknown> {
  const cacheRead = usage.cacheReadTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  const result: Record<string, unknown> = {
    input_tokens: Math.max(0, usage.inputTokens - cacheRead - cacheWrite),
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
  if (usage.reasoningTokens) result.output_tokens_details = { thinking_tokens: usage.reasoningTokens };
  return result;
}

function reasoningOf(block: Json): ReasoningPart {
  if (block.type === 'redacted_thinking') return { type: 'reasoning', text: '', redactedData: String(block.data ?? '') };
  const part: ReasoningPart = { type: 'reasoning', text: typeof block.thinking === 'string' ? block.thinking : '' };
  if (typeof block.signature === 'string') part.signature = block.signature;
  return part;
}

/** Options for decoding an upstream answer. */
export interface AnthropicDecodeOptions {
  /** The forced JSON tool of SPEC PV-7, whose input becomes the answer text. */
  unwrapJsonTool?: string;
}

/**
 * Decodes an Anthropic Messages response body, leniently: unknown blocks and fields are skipped.
 * With `unwrapJsonTool`, the forced tool's input becomes the only text (the JSON answer) and a
 * `tool_use` stop becomes `stop`.
 */
export function parseAnthropicMessagesResponse(body: unknown, options: AnthropicDecodeOptions = {}): CanonicalResponse {
  const message = isRecord(body) ? body : {};
  let content: CanonicalResponse['content'] = [];
  let json: string | undefined;
  for (const block of Array.isArray(message.content) ? message.content : []) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') content.push({ type: 'text', text: block.text });
    else if (block.type === 'thinking' || block.type === 'redacted_thinking') content.push(reasoningOf(block));
    else if (block.type === 'tool_use') {
      const args = JSON.stringify(block.input ?? {});
      if (options.unwrapJsonTool !== undefined && block.name === options.unwrapJsonTool) json = args;
      else content.push({ type: 'tool-call', id: String(block.id ?? ''), name: String(block.name ?? ''), arguments: args });
    }
  }
  const raw = typeof message.stop_reason === 'string' ? message.stop_reason : undefined;
  let finishReason = mapAnthropicStopReason(raw);
  if (json !== undefined) {
    // Any preamble text would make the answer invalid JSON; the tool input is the answer.
    content = content.filter((part) => part.type !== 'text');
    content.push({ type: 'text', text: json });
    if (finishReason === 'tool_calls' && !content.some((part) => part.type === 'tool-call')) finishReason = 'stop';
  }
  const response: CanonicalResponse = {
    id: String(message.id ?? ''),
    model: String(message.model ?? ''),
    content,
    finishReason,
    usage: usageFromAnthropic(message.usage),
  };
  if (raw !== undefined) response.rawFinishReason = raw;
  if (typeof message.stop_sequence === 'string') response.stopSequence = message.stop_sequence;
  return response;
}

/** An Anthropic message id: ours keep their id, foreign ones get the `msg_` prefix clients expect. */
export function anthropicMessageId(id: string): string {
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/** Encodes a canonical answer as the Anthropic Messages JSON a `/v1/messages` client receives. */
export function toAnthropicMessagesResponse(res: CanonicalResponse, publicModel: string): Record<string, unknown> {
  const content = res.content.map((part): Record<string, unknown> => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    if (part.type === 'tool-call') return { type: 'tool_use', id: part.id, name: part.name, input: anthropicToolInput(part.arguments) };
    if (part.redactedData !== undefined) return { type: 'redacted_thinking', data: part.redactedData };
    return { type: 'thinking', thinking: part.text, signature: part.signature ?? '' };
  });
  return {
    id: anthropicMessageId(res.id),
    type: 'message',
    role: 'assistant',
    model: publicModel,
    content,
    stop_reason: toAnthropicStopReason(res.finishReason, res.rawFinishReason, res.stopSequence),
    stop_sequence: res.stopSequence ?? null,
    usage: toAnthropicUsage(res.usage),
  };
}
