import type { CanonicalRequest, CanonicalResponse, ToolCallPart } from '../core/types.js';

/** The outcome of checking one answer: `reasons` say why it failed (empty when `ok`). */
import type { Verdict } from '../core/attempt-loop.js';

/** A semantic verdict; one type with the pipeline's. */
export type { Verdict };

/**
 * A semantic check of a completed answer (SPEC UP-16). Built-in validators are synchronous so the
 * common case allocates no promise; only `custom` returns one.
 */
export interface Validator {
  /** The config name (`json`, `json_schema`, `tool_args`, …), for headers and the ledger. */
  readonly name: string;
  validate(response: CanonicalResponse, request: CanonicalRequest): Verdict | Promise<Verdict>;
}

/** The shared passing verdict; frozen because every passing validator returns this same object. */
export const PASSED: Verdict = Object.freeze({ ok: true, reasons: Object.freeze([]) as unknown as string[] });

/** A failed verdict with one reason. */
export function failed(reason: string): Verdict {
  return { ok: false, reasons: [reason] };
}

/** Most characters of model output (or of a message quoting it) a reason may carry. */
export const MAX_QUOTE_CHARS = 200;

/** Collapses whitespace and clips to `max` characters, so quoted model output stays one short line. */
export function clip(text: string, max = MAX_QUOTE_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Model output in double quotes, clipped. */
export function quote(text: string, max = 80): string {
  return `"${clip(text, max)}"`;
}

/** The answer text: every text part joined (reasoning is not the answer). */
export function responseText(response: CanonicalResponse): string {
  let text = '';
  for (const part of response.content) if (part.type === 'text') text += part.text;
  return text;
}

/** The tool calls of an answer, in order. */
export function responseToolCalls(response: CanonicalResponse): ToolCallPart[] {
  return response.content.filter((part): part is ToolCallPart => part.type === 'tool-call');
}

/** The message of a thrown value, clipped. */
export function errorMessage(error: unknown): string {
  return clip(error instanceof Error ? error.message : String(error));
}
