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
const ROMAN_ITEM = /\b(?:I{1,3}|IV|V|VI)\.?\s*(?:and|,|only)/g;
const FRACTION = /\d\s*\/\s*\d/g;

// Word classes, looked up once per word: one pass over the words instead of a regex per class
// keeps a decision well under 0.1 ms on a 4 KB prompt.
const NEGATION = 1;
const STEP_CUE = 2;
const TIME_UNIT = 4;
const UNIT = 8;
const COMPARISON = 16;
const FRACTION_WORD = 32;
const PERCENT_WORD = 64;
const WORD_CLASSES: ReadonlyMap<string, number> = (() => {
  const classes = new Map<string, number>();
  const add = (flag: number, words: string) => {
    for (const word of words.split(' ')) classes.set(word, (classes.get(word) ?? 0) | flag);
  };
  add(NEGATION, 'not except least false incorrect never cannot unlikely');
  add(STEP_CUE, 'then after before each every per twice half thrice double triple times remaining remain left total fewer average rest profit');
  add(STEP_CUE, 'spend spends save saves cost costs sell sells buy buys split share shared evenly');
  const time = 'second seconds minute minutes hour hours day days week weeks month months year years';
  add(TIME_UNIT | UNIT, time);
  add(UNIT, 'dollar dollars cent cents mile miles km meter meters feet foot inch inches pound pounds ounce ounces kg gram grams');
  add(UNIT, 'liter liters gallon gallons cup cups dozen dozens page pages piece pieces');
  add(COMPARISON, 'more less fewer than older younger longer shorter faster slower larger smaller');
  add(FRACTION_WORD, 'half halves third thirds quarter quarters fourth fourths fifth fifths');
  add(PERCENT_WORD, 'percent');
  return classes;
})();
const UPPER_NEGATIONS: ReadonlySet<string> = new Set(['NOT', 'EXCEPT', 'LEAST', 'FALSE', 'INCORRECT']);
const MATH_SYMBOLS: ReadonlySet<number> = new Set([...'=+*^<>√π∫∑×÷≤≥±_|'].map((c) => c.charCodeAt(0)));

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
  // \u2212, not the character: the bundle launcher reads the bundle as latin1 and esbuild keeps
  // non-ASCII characters of regular expressions as they are.
  const numeric = options.filter((o) => /^[-\u2212$\d.,/%\s()]+[a-z%]*\.?$/i.test(o.trim())).length / options.length;
  return [options.length / 4, Math.log1p(mean), spread, numeric];
}

const DIGIT = 1;
const DOLLAR = 2;
const PERCENT = 3;
const NEWLINE = 4;
const QUOTE = 5;
const MATH = 6;
const SENTENCE_END = 7;
/** Character classes of ASCII; the few non-ASCII ones are checked after. */
const ASCII_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) table[c] = DIGIT;
  table[36] = DOLLAR;
  table[37] = PERCENT;
  table[10] = NEWLINE;
  table[34] = QUOTE;
  for (const c of '=+*^<>_|') table[c.charCodeAt(0)] = MATH;
  for (const c of '.!?') table[c.charCodeAt(0)] = SENTENCE_END;
  return table;
})();

/** Per-character counts, one pass. */
function characterCounts(text: string): { digits: number; dollars: number; percents: number; math: number; sentences: number; questions: number; quotes: number; lines: number } {
  const counts = { digits: 0, dollars: 0, percents: 0, math: 0, sentences: 0, questions: 0, quotes: 0, lines: 0 };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const kind = c < 128 ? ASCII_CLASS[c] : c === 0x201c || c === 0x201d ? QUOTE : MATH_SYMBOLS.has(c) ? MATH : 0;
    if (kind === 0) continue;
    if (kind === DIGIT) counts.digits++;
    else if (kind === DOLLAR) counts.dollars++;
    else if (kind === PERCENT) counts.percents++;
    else if (kind === NEWLINE) counts.lines++;
    else if (kind === QUOTE) counts.quotes++;
    else if (kind === MATH) counts.math++;
    else {
      // A sentence ends at . ! ? followed by white space or the end.
      if (i + 1 === text.length || text.charCodeAt(i + 1) <= 32) counts.sentences++;
      if (c === 63) counts.questions++;
    }
  }
  return counts;
}

/** Word-class counts and the word-shape features, one pass over the words. */
function wordCounts(words: readonly string[], lowerWords: readonly string[]): { classes: number[]; upperNegations: number; units: number; shape: number[] } {
  const classes = new Array<number>(7).fill(0);
  const units = new Set<string>();
  let upperNegations = 0;
  let letters = 0;
  let long = 0;
  let capitalised = 0;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    letters += word.length;
    if (word.length >= 10) long++;
    const first = word.charCodeAt(0);
    if (first >= 65 && first <= 90) {
      capitalised++;
      if (UPPER_NEGATIONS.has(word)) upperNegations++;
    }
    const lower = lowerWords[i]!;
    const flags = WORD_CLASSES.get(lower);
    if (flags === undefined) continue;
    for (let bit = 0; bit < classes.length; bit++) if (flags & (1 << bit)) classes[bit]!++;
    if (flags & UNIT) units.add(lower);
  }
  const n = Math.max(1, words.length);
  return { classes, upperNegations, units: units.size, shape: words.length === 0 ? [0, 0, 0] : [letters / n / 5, long / n, capitalised / n] };
}

function numberFeatures(numbers: readonly string[]): number[] {
  let maxDigits = 0;
  let maxMagnitude = 0;
  let decimals = 0;
  for (const n of numbers) {
    maxDigits = Math.max(maxDigits, n.replace(/\D/g, '').length);
    maxMagnitude = Math.max(maxMagnitude, Math.log10(1 + Number(n.replace(/,/g, ''))) || 0);
    if (n.includes('.')) decimals++;
  }
  return [Math.log1p(numbers.length), Math.log1p(new Set(numbers).size), maxDigits / 4, Math.log1p(decimals), maxMagnitude / 3];
}

function denseFeatures(text: string, layout: Layout, words: readonly string[], lowerWords: readonly string[]): Float64Array {
  const numbers = text.match(NUMBER) ?? [];
  const chars = characterCounts(text);
  const word = wordCounts(words, lowerWords);
  const [logNumbers, distinctNumbers, maxDigits, decimals, magnitude] = numberFeatures(numbers);
  const classCount = (flag: number) => Math.log1p(word.classes[Math.log2(flag)]!);
  const values = [
    Math.log1p(text.length) / 5,
    Math.log1p(words.length) / 4,
    logNumbers!,
    distinctNumbers!,
    maxDigits!,
    decimals!,
    Math.log1p(count(text, FRACTION) + word.classes[Math.log2(FRACTION_WORD)]!),
    Math.log1p(chars.percents + word.classes[Math.log2(PERCENT_WORD)]!),
    Math.log1p(chars.dollars),
    Math.log1p(chars.math),
    Math.log1p(chars.sentences),
    Math.log1p(chars.questions),
    classCount(NEGATION),
    Math.log1p(word.upperNegations),
    classCount(STEP_CUE),
    classCount(TIME_UNIT),
    ...optionFeatures(layout.options),
    /Statement 1\s*\|/.test(text) ? 1 : 0,
    Math.log1p(count(text, ROMAN_ITEM)),
    /\b(?:all|none|both) of the (?:above|these)\b/i.test(text) ? 1 : 0,
    /refers to the following|following (?:passage|information|excerpt|scenario)/i.test(text) ? 1 : 0,
    ...word.shape,
    Math.log1p(chars.quotes),
    text.length === 0 ? 0 : (chars.digits / text.length) * 10,
    Math.log1p(chars.lines),
    magnitude!,
    word.units / 3,
    classCount(COMPARISON),
  ];
  return Float64Array.from(values);
}

/** Extracts the features of a prompt (the caller passes the last user message as text). */
export function extractFeatures(prompt: string): PromptFeatures {
  const text = clipPrompt(prompt);
  const layout = layoutOf(text.split('\n'));
  const words = text.match(/[A-Za-z]+/g) ?? [];
  const lowerWords = words.map((word) => word.toLowerCase());
  return { kind: layout.options.length > 0 ? 'choice' : 'open', dense: denseFeatures(text, layout, words, lowerWords), words: [...new Set(lowerWords)] };
}
