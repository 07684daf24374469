import type { CanonicalRequest } from '../core/types.js';
import type { SimContent } from './sim-content.js';
import type { SimModel } from './sim-models.js';
import { countSimTokens, splitSimTokens } from './sim-tokenizer.js';

function firstTokens(text: string, count: number): string {
  return splitSimTokens(text).slice(0, Math.max(0, count)).join('');
}

/** Cuts text before the earliest stop sequence and notes which one matched. */
function applyStop(content: SimContent, stop: readonly string[] | undefined): boolean {
  let cut = -1;
  let matched = '';
  for (const sequence of stop ?? []) {
    if (!sequence) continue;
    const index = content.text.indexOf(sequence);
    if (index >= 0 && (cut < 0 || index < cut)) {
      cut = index;
      matched = sequence;
    }
  }
  if (cut < 0) return false;
  content.text = content.text.slice(0, cut);
  content.stopSequence = matched;
  return true;
}

/**
 * Applies `stop` and the output budget (`maxTokens`, capped by the model's maximum). Reasoning
 * spends at most half the budget so a small `max_tokens` still leaves room for an answer; what
 * does not fit is cut at a token boundary and the answer finishes with `length`.
 */
export function applyOutputLimits(content: SimContent, request: CanonicalRequest, model: Readonly<SimModel>): SimContent {
  const out: SimContent = { ...content, toolCalls: content.toolCalls.map((call) => ({ ...call })) };
  if (applyStop(out, request.stop) && out.finishReason !== 'length') out.finishReason = 'stop';
  const budget = Math.min(request.maxTokens ?? model.maxOutputTokens, model.maxOutputTokens);
  const reasoningTokens = countSimTokens(out.reasoning);
  if (reasoningTokens > Math.floor(budget / 2)) out.reasoning = firstTokens(out.reasoning, Math.floor(budget / 2));
  let remaining = budget - countSimTokens(out.reasoning);
  const textTokens = countSimTokens(out.text);
  if (textTokens > remaining) {
    out.text = firstTokens(out.text, remaining);
    out.finishReason = 'length';
    delete out.stopSequence;
  }
  remaining -= countSimTokens(out.text);
  for (const call of out.toolCalls) {
    const nameTokens = countSimTokens(call.name);
    const argumentTokens = countSimTokens(call.arguments);
    if (nameTokens + argumentTokens > remaining) {
      call.arguments = firstTokens(call.arguments, remaining - nameTokens);
      out.finishReason = 'length';
    }
    remaining -= nameTokens + countSimTokens(call.arguments);
  }
  return out;
}
