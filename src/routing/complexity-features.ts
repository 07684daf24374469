/**
 * Features of a prompt for the complexity router, shared by training (scripts/train-router.ts) and
 * the runtime scorer so both see the same numbers. Two kinds of prompt get separate models:
 * multiple-choice questions (options `A.`…`D.`) and open questions. Each prompt yields a few dozen
 * named dense features (length, numbers, arithmetic cues, option structure, negations) and its
 * distinct words, from which the subject model (subject-model.ts) infers the topic: the weak
 * model's deficit differs by subject far more than by any surface statistic. (Hashed n-gram
 * weights learnt directly from the outcomes were tried and lost APGR in cross-validation: one
 * prompt's outcome is too noisy a label for thousands of weights.)
 */

/** Only the head of a long prompt is read, so a decision costs the same on a 1 MB paste (SPEC RT-2). */
export const MAX_PROMPT_CHARS = 4096;

/** Which model scores the prompt. */
export type PromptKind = 'choice' | 'open';

/** The features of one prompt: named dense values and the distinct lower-case words. */
export interface PromptFeatures {
  kind: PromptKind;
  dense: Float64Array;
  words: string[];
}

const OPTION_LINE = /^\(?([A-J])[.)]\s?(.*)$/;
const NUMBER = /\d+(?:[.,]\d+)*/g;
const NEGATION = /\b(?:NOT|EXCEPT|LEAST|not|except|least|false|incorrect|never|cannot|unlikely)\b/g;
const UPPER_NEGATION = /\b(?:NOT|EXCEPT|LEAST|FALSE|INCORRECT)\b/g;
const STEP_CUE =
  /\b(?:then|after|before|each|every|per|twice|half|thrice|double|triple|times|remaining|remain|left|total|more than|less than|fewer|average|rest|profit|spends?|saves?|costs?|sells?|buys?|split|share|shared|evenly)\b/g;
const TIME_UNIT = /\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b/g;
const UNIT =
  /\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|dollars?|cents?|miles?|km|meters?|feet|foot|inches?|pounds?|ounces?|kg|grams?|liters?|gallons?|cups?|dozens?|pages?|pieces?)\b/g;
const COMPARISON = /\b(?:more|less|fewer|than|older|younger|longer|shorter|faster|slower|larger|smaller|as many|as much)\b/g;
const MATH_SYMBOL = /[=+*^<>√π∫∑×÷≤≥±_|]/g;
const ROMAN_ITEM = /\b(?:I{1,3}|IV|V|VI)\.?\s*(?:and|,|only)/g;

/** Names of the dense features, in vector order (documented in docs/routing.md). */
export const DENSE_FEATURES = [
  'log_chars',
  'log_words',
  'log_numbers',
  'distinct_numbers',
  'max_number_digits',
  'decimals',
  'fractions',
  'percents',
  'currency',
  'math_symbols',
  'sentences',
  'questions',
  'negations',
  'upper_negations',
  'step_cues',
  'time_units',
  'option_count',
  'log_mean_option_chars',
  'option_length_spread',
  'numeric_options',
  'statement_pair',
  'roman_items',
  'all_or_none_of_above',
  'passage',
  'mean_word_length',
  'long_word_share',
  'capitalised_share',
  'quotes',
  'digit_share',
  'lines',
  'max_number_magnitude',
  'unit_kinds',
  'comparisons',
] as const;

/** FNV-1a, 32 bits: stable across runs and platforms (cross-validation folds depend on it). */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The part of a prompt the router reads: the last user message, at most MAX_PROMPT_CHARS. */
export function clipPrompt(text: string): string {
  return text.length > MAX_PROMPT_CHARS ? text.slice(0, MAX_PROMPT_CHARS) : text;
}

interface Layout {
  stem: string;
  options: string[];
}

/** Splits a multiple-choice prompt into its stem and its `A.`…`J.` option lines. */
function layoutOf(lines: readonly string[]): Layout {
  const options: string[] = [];
  let firstOption = lines.length;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line === '' || /^answer:?$/i.test(line)) continue;
    const match = OPTION_LINE.exec(line);
    if (!match) break;
    options.unshift(match[2]!);
    firstOption = i;
  }
  if (options.length < 2) return { stem: lines.join('\n'), options: [] };
  return { stem: lines.slice(0, firstOption).join('\n'), options };
}

function count(text: string, pattern: RegExp): number {
  pattern.lastIndex = 0;
  let n = 0;
  while (pattern.exec(text) !== null) n++;
  return n;
}

function optionFeatures(options: readonly string[]): number[] {
  if (options.length === 0) return [0, 0, 0, 0];
  const lengths = options.map((o) => o.length);
  const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
  const spread = Math.log1p(Math.max(...lengths)) - Math.log1p(Math.min(...lengths));
  const numeric = options.filter((o) => /^[-−$\d.,/%\s()]+[a-z%]*\.?$/i.test(o.trim())).length / options.length;
  return [options.length / 4, Math.log1p(mean), spread, numeric];
}

function wordFeatures(words: readonly string[]): number[] {
  if (words.length === 0) return [0, 0, 0];
  let letters = 0;
  let long = 0;
  let capitalised = 0;
  for (const word of words) {
    letters += word.length;
    if (word.length >= 10) long++;
    const first = word.charCodeAt(0);
    if (first >= 65 && first <= 90) capitalised++;
  }
  return [letters / words.length / 5, long / words.length, capitalised / words.length];
}

function denseFeatures(text: string, layout: Layout): Float64Array {
  const numbers = text.match(NUMBER) ?? [];
  const words = text.match(/[A-Za-z]+/g) ?? [];
  const digits = count(text, /\d/g);
  const values = [
    Math.log1p(text.length) / 5,
    Math.log1p(words.length) / 4,
    Math.log1p(numbers.length),
    Math.log1p(new Set(numbers).size),
    numbers.reduce((max, n) => Math.max(max, n.replace(/\D/g, '').length), 0) / 4,
    Math.log1p(numbers.filter((n) => n.includes('.')).length),
    Math.log1p(count(text, /\d+\s*\/\s*\d+|\b(?:half|third|quarter|fourth|fifth)s?\b/g)),
    Math.log1p(count(text, /%|\bpercent/g)),
    Math.log1p(count(text, /\$/g)),
    Math.log1p(count(text, MATH_SYMBOL)),
    Math.log1p(count(layout.stem, /[.!?](?:\s|$)/g)),
    Math.log1p(count(layout.stem, /\?/g)),
    Math.log1p(count(layout.stem, NEGATION)),
    Math.log1p(count(layout.stem, UPPER_NEGATION)),
    Math.log1p(count(layout.stem.toLowerCase(), STEP_CUE)),
    Math.log1p(count(layout.stem.toLowerCase(), TIME_UNIT)),
    ...optionFeatures(layout.options),
    /Statement 1\s*\|/.test(text) ? 1 : 0,
    Math.log1p(count(text, ROMAN_ITEM)),
    /\b(?:all|none|both) of the (?:above|these)\b/i.test(text) ? 1 : 0,
    /refers to the following|following (?:passage|information|excerpt|scenario)/i.test(text) ? 1 : 0,
    ...wordFeatures(words),
    Math.log1p(count(text, /["“”]/g)),
    text.length === 0 ? 0 : (digits / text.length) * 10,
    Math.log1p(count(text, /\n/g)),
    numbers.reduce((max, n) => Math.max(max, Math.log10(1 + Number(n.replace(/,/g, '')) || 0)), 0) / 3,
    new Set(layout.stem.toLowerCase().match(UNIT) ?? []).size / 3,
    Math.log1p(count(layout.stem.toLowerCase(), COMPARISON)),
  ];
  return Float64Array.from(values);
}

/** Extracts the features of a prompt (the caller passes the last user message as text). */
export function extractFeatures(prompt: string): PromptFeatures {
  const text = clipPrompt(prompt);
  const layout = layoutOf(text.split('\n'));
  const words = [...new Set(text.toLowerCase().match(/[a-z]+/g) ?? [])];
  return { kind: layout.options.length > 0 ? 'choice' : 'open', dense: denseFeatures(text, layout), words };
}
