import type { FinishReason } from '../core/types.js';
import { clip, failed, PASSED, quote, responseText, responseToolCalls, type Validator } from './validator.js';

/** `non_empty`: the answer has text that is not only whitespace, or at least one tool call. */
export function createNonEmptyValidator(): Validator {
  return {
    name: 'non_empty',
    validate(response) {
      for (const part of response.content) {
        if (part.type === 'tool-call') return PASSED;
        if (part.type === 'text' && part.text.trim() !== '') return PASSED;
      }
      return failed('empty answer');
    },
  };
}

/** Every canonical finish reason, for checking configured allow lists. */
export const FINISH_REASONS: readonly FinishReason[] = Object.freeze(['stop', 'length', 'tool_calls', 'content_filter', 'error', 'other']);

const FINISH_REASON_MEANING: Readonly<Partial<Record<FinishReason, string>>> = Object.freeze({
  length: 'answer cut at max_tokens',
  content_filter: "blocked by the provider's content filter",
  tool_calls: 'the model called a tool',
  error: 'the upstream reported an error',
});

/** `finish_reason`: the answer ended for an allowed reason (default `stop`, `tool_calls`). */
export function createFinishReasonValidator(allow: readonly string[] = ['stop', 'tool_calls']): Validator {
  const allowed = new Set(allow);
  return {
    name: 'finish_reason',
    validate(response) {
      if (allowed.has(response.finishReason)) return PASSED;
      const raw = response.rawFinishReason;
      const meaning = FINISH_REASON_MEANING[response.finishReason] ?? (raw ? `upstream said ${clip(raw, 40)}` : undefined);
      return failed(`finish_reason ${response.finishReason}${meaning ? ` (${meaning})` : ''}`);
    },
  };
}

/**
 * How English refusals open, lower case with straight apostrophes. Only the start of the answer is
 * checked: a refusal leads with it, while an answer that mentions one later is still an answer.
 */
export const REFUSAL_OPENINGS: readonly string[] = Object.freeze([
  "i can't help with",
  "i can't assist with",
  "i can't provide",
  "i can't comply",
  'i cannot help with',
  'i cannot assist',
  'i cannot provide',
  'i cannot comply',
  "i'm unable to help",
  "i'm unable to assist",
  "i'm unable to provide",
  'i am unable to help',
  'i am unable to assist',
  "i'm not able to help",
  "i won't be able to help",
  'i must decline',
  "i'm afraid i can't",
  'as an ai',
]);

// "I'm sorry, but I can't …", "Sorry, I cannot …", "I apologize, but I'm unable …": an apology
// followed, in the same sentence, by a refusal verb.
const APOLOGY_REFUSAL =
  /^(?:i'm sorry|i am sorry|sorry|i apologi[sz]e)\b[^.!?\n]{0,20}?\bi(?: can't| cannot| can not| won't| will not|'m unable| am unable|'m not able| am not able)\b/;

/** True when `text` opens like a refusal (case-insensitive, curly apostrophes allowed). */
export function looksLikeRefusal(text: string): boolean {
  const opening = text.trimStart().slice(0, 120).toLowerCase().replace(/[\u2018\u2019\u02bc]/g, "'").replace(/\s+/g, ' ');
  return APOLOGY_REFUSAL.test(opening) || REFUSAL_OPENINGS.some((prefix) => opening.startsWith(prefix));
}

/**
 * `refusal`: the answer is not a refusal (an English refusal opening, or the provider's
 * `content_filter` finish). Opt-in: some refusals are the right answer.
 */
export function createRefusalValidator(): Validator {
  return {
    name: 'refusal',
    validate(response) {
      if (response.finishReason === 'content_filter') return failed('refusal: finish_reason content_filter');
      const text = responseText(response);
      if (responseToolCalls(response).length === 0 && looksLikeRefusal(text)) return failed(`refusal: ${quote(text)}`);
      return PASSED;
    },
  };
}

/** A pattern as written in config, for reasons. */
function showPattern(regex: RegExp): string {
  return clip(`/${regex.source}/${regex.flags}`, 80);
}

/** Compiles a configured pattern; `g` and `y` are dropped because `test` would keep state between answers. */
export function compileValidatorPattern(pattern: string, flags = ''): RegExp {
  return new RegExp(pattern, flags.replace(/[gy]/g, ''));
}

/** `regex`: the answer text matches the pattern. */
export function createRegexValidator(pattern: string, flags?: string): Validator {
  const regex = compileValidatorPattern(pattern, flags);
  return {
    name: 'regex',
    validate(response) {
      return regex.test(responseText(response)) ? PASSED : failed(`regex ${showPattern(regex)} did not match`);
    },
  };
}

/** `deny_regex`: the answer text does not match the pattern. */
export function createDenyRegexValidator(pattern: string, flags?: string): Validator {
  const regex = compileValidatorPattern(pattern, flags);
  return {
    name: 'deny_regex',
    validate(response) {
      const match = regex.exec(responseText(response));
      return match ? failed(`deny_regex ${showPattern(regex)} matched ${quote(match[0], 60)}`) : PASSED;
    },
  };
}

/** `max_chars`: the answer text has at most `max` characters (UTF-16 code units, as JavaScript counts). */
export function createMaxCharsValidator(max: number): Validator {
  return {
    name: 'max_chars',
    validate(response) {
      const length = responseText(response).length;
      return length <= max ? PASSED : failed(`max_chars: ${length} characters, more than ${max}`);
    },
  };
}
