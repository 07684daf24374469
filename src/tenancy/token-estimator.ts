import { estimateTokens, requestCharacters } from '../core/usage-estimate.js';
import type { CanonicalRequest, EmbeddingRequest } from '../core/types.js';

type CountTokens = (text: string) => number;

/** Tokens every chat message costs beyond its text (role and separators, as OpenAI counts them). */
const PER_MESSAGE_TOKENS = 4;
/**
 * Prompts longer than this are estimated from their length: counting costs ~20 µs per KiB, and
 * for admission a long prompt's 4-characters-per-token estimate is close enough.
 */
const MAX_COUNTED_CHARACTERS = 16_384;

let counter: CountTokens | undefined;
let loading: Promise<void> | undefined;

/**
 * Starts loading gpt-tokenizer (o200k) in the background, once. It is never part of the boot
 * module graph (SPEC CS-1): the idle warm-up after ready calls this once the server is quiet, and
 * admission on the first request that needs a token count, whichever comes first. Until it has
 * loaded, and if it fails to, estimates fall back to 4 characters per token.
 */
export function loadTokenizer(): Promise<void> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(
    (module) => {
      counter = module.countTokens;
    },
    () => {},
  );
  return loading;
}

/** Whether the tokenizer has started loading (or has loaded). */
export function tokenizerLoading(): boolean {
  return loading !== undefined;
}

/** Whether token counts are exact (tokenizer loaded) rather than length-based. */
export function tokenizerLoaded(): boolean {
  return counter !== undefined;
}

function textOf(request: CanonicalRequest): string {
  let text = '';
  for (const message of request.messages) {
    for (const part of message.content) {
      if (part.type === 'text' || part.type === 'reasoning') text += part.text;
      else if (part.type === 'tool-call') text += part.name + part.arguments;
      else if (part.type === 'tool-result') for (const inner of part.content) if (inner.type === 'text') text += inner.text;
    }
  }
  if (request.tools) text += JSON.stringify(request.tools);
  return text;
}

/** Estimated prompt tokens of a chat request, for admission only (SPEC PV-8, MT-5). */
export function estimateInputTokens(request: CanonicalRequest): number {
  const overhead = request.messages.length * PER_MESSAGE_TOKENS;
  const characters = requestCharacters(request);
  if (!counter || characters > MAX_COUNTED_CHARACTERS) return estimateTokens(characters) + overhead;
  return counter(textOf(request)) + overhead;
}

/** Estimated input tokens of an embeddings request. */
export function estimateEmbeddingTokens(request: EmbeddingRequest): number {
  let characters = 0;
  for (const input of request.input) characters += input.length;
  if (!counter || characters > MAX_COUNTED_CHARACTERS) return estimateTokens(characters);
  let tokens = 0;
  for (const input of request.input) tokens += counter(input);
  return tokens;
}
