import type { Random } from '../core/clock.js';
import type { FinishPart, StreamPart, Usage } from '../core/types.js';
import type { SimContent } from './sim-content.js';
import type { SimHttpError } from './sim-error-body.js';
import type { SimJournalEntry } from './sim-journal.js';
import { randomInt } from './sim-hash.js';
import type { SimModel } from './sim-models.js';
import { countSimTokens, splitSimTokens } from './sim-tokenizer.js';

/** Facts every plan carries. `journal` is the live journal entry; runners may record the real outcome on it. */
interface SimPlanBase {
  requestId: string;
  /** The simulated model's name, without a fault suffix. */
  model: string;
  journal: SimJournalEntry;
}

/**
 * A successful answer: the canonical parts with the delay (ms) before each, plus the wire faults
 * to apply while delivering them. A "content chunk" is any text, reasoning or tool-call part;
 * chunk counts are 1-based positions among those.
 */
export interface SimAnswerPlan extends SimPlanBase {
  kind: 'answer';
  parts: StreamPart[];
  timing: number[];
  /** The connection dies after this many content chunks. */
  cutAfterChunks?: number;
  /** The stream goes silent forever after this many content chunks. */
  stallAfterChunks?: number;
  /** This content chunk (1-based) arrives as unparseable JSON. */
  malformedAtChunk?: number;
  /** The stream ends without `[DONE]` / `message_stop`. */
  omitTerminator?: true;
  /** The slow-first-token fault's delay, already in `timing`; set so runners can tell. */
  firstTokenDelayMs?: number;
}

/** A non-2xx answer, in the shape of the dialect asked for. */
export interface SimHttpErrorPlan extends SimPlanBase, SimHttpError {
  kind: 'http-error';
}

/** The connection is reset before any header. */
export interface SimResetPlan extends SimPlanBase {
  kind: 'reset';
}

/** Nothing ever comes back. */
export interface SimHangPlan extends SimPlanBase {
  kind: 'hang';
}

/** What the simulator will do for one request. */
export type SimPlan = SimAnswerPlan | SimHttpErrorPlan | SimResetPlan | SimHangPlan;

const CONTENT_PART_TYPES: ReadonlySet<StreamPart['type']> = new Set(['text-delta', 'reasoning-delta', 'tool-call-start', 'tool-call-delta']);

/** True for parts that carry generated content (the "chunks" wire faults count). */
export function isSimContentPart(part: StreamPart): boolean {
  return CONTENT_PART_TYPES.has(part.type);
}

/**
 * Where the first token arrives: the first content part, or the final usage when there is no
 * content. Parts before it (start, prompt usage) go out with the headers.
 */
export function firstTokenIndex(parts: readonly StreamPart[]): number {
  const content = parts.findIndex(isSimContentPart);
  if (content >= 0) return content;
  const finalUsage = parts.findLastIndex((part) => part.type === 'usage');
  return finalUsage >= 0 ? finalUsage : parts.length - 1;
}

/** Inputs of {@link buildAnswerParts}. */
export interface AnswerPartsInput {
  id: string;
  model: Readonly<SimModel>;
  content: SimContent;
  usage: Usage;
  random: Random;
  timeScale: number;
  /** Overrides the model's TTFT, unscaled (the slow-first-token fault). */
  firstTokenDelayMs?: number;
  signature: string;
}

/** Groups tokens into deltas of `min`..`max` tokens. */
function chunkTokens(text: string, random: Random, min: number, max: number): string[] {
  const tokens = splitSimTokens(text);
  const chunks: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const size = randomInt(random, min, max);
    chunks.push(tokens.slice(i, i + size).join(''));
    i += size;
  }
  return chunks;
}

/** Cuts content into stream parts and times each one from the model's TTFT, speed and jitter. */
export function buildAnswerParts(input: AnswerPartsInput): { parts: StreamPart[]; timing: number[] } {
  const { model, content, random } = input;
  const parts: StreamPart[] = [{ type: 'start', id: input.id, model: model.name }];
  const tokens: number[] = [0];
  const add = (part: StreamPart, text: string) => {
    parts.push(part);
    tokens.push(countSimTokens(text));
  };
  // Prompt usage goes out with the headers, as Anthropic's message_start does; the final usage
  // (the last one seen) follows the content.
  const { reasoningTokens: _reasoning, ...prompt } = input.usage;
  add({ type: 'usage', usage: { ...prompt, outputTokens: 0 } }, '');
  const reasoning = chunkTokens(content.reasoning, random, 1, 4);
  reasoning.forEach((text, i) => {
    // The signature rides on the last reasoning delta, as Anthropic sends it after the thinking.
    add(i === reasoning.length - 1 ? { type: 'reasoning-delta', text, signature: input.signature } : { type: 'reasoning-delta', text }, text);
  });
  for (const text of chunkTokens(content.text, random, 1, 4)) add({ type: 'text-delta', text }, text);
  content.toolCalls.forEach((call, index) => {
    add({ type: 'tool-call-start', index, id: call.id, name: call.name }, call.name);
    for (const argumentsDelta of chunkTokens(call.arguments, random, 2, 6)) {
      add({ type: 'tool-call-delta', index, argumentsDelta }, argumentsDelta);
    }
  });
  add({ type: 'usage', usage: input.usage }, '');
  const finish: FinishPart = { type: 'finish', finishReason: content.finishReason, usage: input.usage };
  if (content.stopSequence !== undefined) finish.stopSequence = content.stopSequence;
  add(finish, '');
  const first = firstTokenIndex(parts);
  const jittered = (ms: number) => ms * (1 + input.model.jitter * (2 * random() - 1)) * input.timeScale;
  const timing = parts.map((part, i) => {
    if (i === first) return input.firstTokenDelayMs ?? Math.round(jittered(model.ttftMs));
    if (!isSimContentPart(part)) return 0;
    return Math.round(jittered((tokens[i]! * 1000) / model.tokensPerSecond));
  });
  return { parts, timing };
}
