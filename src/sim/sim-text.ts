import type { Random } from '../core/clock.js';
import { pick } from './sim-hash.js';
import { countSimTokens } from './sim-tokenizer.js';

// Sentence templates over small word banks: grammatical by construction (singular subjects,
// third-person verbs), varied enough that different seeds read differently.
const OPENERS = ['', '', 'In practice,', 'As a rule,', 'For most teams,', 'In short,', 'On balance,', 'Put simply,', 'Over time,'];
const SUBJECTS = [
  'the gateway', 'a careful plan', 'the model', 'each request', 'the team', 'a good answer', 'the system',
  'this approach', 'the simulator', 'a small change', 'the first draft', 'a clear summary',
];
const VERBS = [
  'keeps', 'improves', 'reduces', 'explains', 'balances', 'protects', 'shapes', 'supports', 'clarifies', 'measures', 'simplifies', 'reveals',
];
const OBJECTS = [
  'the overall cost', 'the latency budget', 'every edge case', 'the final result', 'the user experience',
  'the main risk', 'the core idea', 'the whole workflow', 'the next step', 'the key trade-off', 'the open question',
];
const TAILS = [
  '', '', 'without much effort', 'in a predictable way', 'for everyone involved', 'when it matters most', 'across the board', 'step by step',
  'with clear results',
];

const REASONING_STEPS = ['First,', 'Next,', 'Then,', 'Also,', 'After that,', 'Finally,'];
const REASONING_VERBS = ['check', 'compare', 'consider', 'weigh', 'review', 'estimate', 'list', 'question'];

/** The exact text of the `refusal` fault. */
export const REFUSAL_TEXT = "I'm sorry, but I can't help with that.";

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** One fluent English sentence. */
export function simSentence(random: Random): string {
  const opener = pick(random, OPENERS);
  const tail = pick(random, TAILS);
  const core = `${pick(random, SUBJECTS)} ${pick(random, VERBS)} ${pick(random, OBJECTS)}${tail ? ` ${tail}` : ''}.`;
  return opener ? `${opener} ${core}` : capitalize(core);
}

function reasoningSentence(random: Random, index: number): string {
  const step = index === 0 ? 'First,' : pick(random, REASONING_STEPS.slice(1));
  return `${step} I should ${pick(random, REASONING_VERBS)} ${pick(random, OBJECTS)}.`;
}

function buildUntil(targetTokens: number, next: (index: number) => string): string {
  let text = '';
  for (let i = 0; countSimTokens(text) < targetTokens; i++) text += (text ? ' ' : '') + next(i);
  return text;
}

/** Answer prose of at least `targetTokens` tokens, whole sentences, from a seeded stream. */
export function simProse(random: Random, targetTokens: number): string {
  return buildUntil(Math.max(1, targetTokens), () => simSentence(random));
}

/** Reasoning prose ("First, I should …") of at least `targetTokens` tokens. */
export function simReasoning(random: Random, targetTokens: number): string {
  return buildUntil(Math.max(1, targetTokens), (index) => reasoningSentence(random, index));
}

/** A short phrase (a few words, no final period) for JSON string values. */
export function simPhrase(random: Random): string {
  return `${pick(random, SUBJECTS)} ${pick(random, VERBS)} ${pick(random, OBJECTS)}`;
}

/** A single lowercase word from the banks, for keys and short values. */
export function simWord(random: Random): string {
  const words = pick(random, [SUBJECTS, OBJECTS]);
  const phrase = pick(random, words).split(' ');
  return phrase[phrase.length - 1] as string;
}
