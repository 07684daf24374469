import type { Message, ToolDefinition } from '../core/types.js';

/**
 * The simulator's own tokenizer: a token is a run of letters/digits or one punctuation mark, with
 * the whitespace before it attached (trailing whitespace is a token of its own). Tokens
 * concatenate back to the exact text, so any prefix of them re-tokenizes the same way, which keeps
 * streamed and collected usage equal.
 */
const TOKEN_PATTERN = /\s*(?:[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_])|\s+/gu;

/** Per-message overhead and reply priming, in the spirit of OpenAI's chat accounting. */
const MESSAGE_OVERHEAD_TOKENS = 4;
const PRIMING_TOKENS = 3;
/** A flat cost per image, whatever its size. */
const IMAGE_TOKENS = 85;

/** Splits text into simulator tokens; `tokens.join('') === text`. */
export function splitSimTokens(text: string): string[] {
  return text.match(TOKEN_PATTERN) ?? [];
}

/** Counts simulator tokens in text. */
export function countSimTokens(text: string): number {
  if (text.length === 0) return 0;
  let count = 0;
  TOKEN_PATTERN.lastIndex = 0;
  while (TOKEN_PATTERN.exec(text) !== null) count++;
  return count;
}

/** Tokens of one message: its text, reasoning, tool calls and tool results, plus overhead. */
export function countMessageTokens(message: Message): number {
  let total = MESSAGE_OVERHEAD_TOKENS;
  for (const part of message.content) {
    switch (part.type) {
      case 'text':
      case 'reasoning':
        total += countSimTokens(part.text);
        break;
      case 'image':
        total += IMAGE_TOKENS;
        break;
      case 'tool-call':
        total += countSimTokens(part.name) + countSimTokens(part.arguments);
        break;
      case 'tool-result':
        for (const inner of part.content) total += inner.type === 'text' ? countSimTokens(inner.text) : IMAGE_TOKENS;
        break;
    }
  }
  return total;
}

/** Tokens of tool definitions as the model would see them. */
export function countToolTokens(tools: readonly ToolDefinition[] | undefined): number {
  if (!tools || tools.length === 0) return 0;
  return countSimTokens(JSON.stringify(tools));
}

/** Input tokens of a whole prompt: every message, the tools, and reply priming. */
export function countPromptTokens(messages: readonly Message[], tools?: readonly ToolDefinition[]): number {
  let total = PRIMING_TOKENS + countToolTokens(tools);
  for (const message of messages) total += countMessageTokens(message);
  return total;
}
