import { clip, type Verdict } from './validator.js';

/** Options of {@link createDegenerationGuard}. */
export interface DegenerationGuardOptions {
  /** K: the shortest looping span, in tokens; shorter units must repeat until the loop is this long. Default 8. */
  windowTokens?: number;
  /** R: how many times in a row the span must repeat at the end of the output. Default 8. */
  repeats?: number;
  /** The longest repeating unit looked for, in tokens (cost per token and memory grow with it). Default 100. */
  maxPeriodTokens?: number;
  /** Output past this many characters trips the guard (the route maximum); off when absent. */
  maxChars?: number;
}

/** Watches a stream's text for loops (SPEC SA-7). */
export interface DegenerationGuard {
  /** Feeds the next text delta; returns the failed verdict once tripped (and on every push after). */
  push(text: string): Verdict | undefined;
}

// Text without whitespace (CJK, "!!!!…") still forms tokens: long runs are cut into pieces this
// long, so a loop of them repeats piece by piece.
const MAX_TOKEN_CHARS = 32;

function positive(value: number | undefined, fallback: number): number {
  return value === undefined || !Number.isFinite(value) ? fallback : Math.max(1, Math.floor(value));
}

/**
 * Creates a degeneration guard. Tokens are whitespace-separated words, compared case-insensitively.
 * It trips when the output ends in a span of at least K tokens repeated R times in a row, the span
 * being whole copies of a unit of at most `maxPeriodTokens` tokens: with the defaults (K = 8,
 * R = 8) that is 64 × "the", or 8 copies of a 20-word sentence (160 tokens). Prose never repeats a
 * sentence eight times running, so the defaults do not trip on it; legitimately repetitive output
 * (a large zero matrix, a long ASCII rule of spaced dashes) can, which is one reason the guard is
 * opt-in. Each push costs O(new tokens × maxPeriodTokens) and memory is O(maxPeriodTokens): for
 * every period p it keeps how many latest tokens equal the token p before them.
 */
export function createDegenerationGuard(options: DegenerationGuardOptions = {}): DegenerationGuard {
  const windowTokens = positive(options.windowTokens, 8);
  const repeats = positive(options.repeats, 8);
  const maxPeriod = positive(options.maxPeriodTokens, 100);
  const maxChars = options.maxChars;
  const history: string[] = new Array<string>(maxPeriod);
  // runs[p]: how many of the latest tokens each equal the token p positions earlier.
  const runs = new Uint32Array(maxPeriod + 1);
  let count = 0;
  let chars = 0;
  let pending = '';
  let tripped: Verdict | undefined;

  function loopReason(period: number, length: number): string {
    const unit: string[] = [];
    for (let back = period; back >= 1; back--) unit.push(history[(count - back) % maxPeriod]!);
    const times = Math.floor(length / period);
    return `degenerate: a ${period}-token span repeated ${times} times ("${clip(unit.join(' '), 60)}")`;
  }

  function addToken(raw: string): void {
    const token = raw.toLowerCase();
    const reach = Math.min(maxPeriod, count);
    for (let period = 1; period <= reach; period++) {
      if (history[(count - period) % maxPeriod] !== token) {
        runs[period] = 0;
        continue;
      }
      const run = ++runs[period]!;
      if (tripped === undefined && run + period >= repeats * Math.max(period, windowTokens)) {
        history[count % maxPeriod] = token;
        count++;
        tripped = { ok: false, reasons: [loopReason(period, run + period)] };
        return;
      }
    }
    history[count % maxPeriod] = token;
    count++;
  }

  function consume(text: string): void {
    const combined = pending + text;
    pending = '';
    const words = /\S+/g;
    for (let match = words.exec(combined); match !== null && tripped === undefined; match = words.exec(combined)) {
      let word = match[0];
      // The last word may continue in the next delta; keep it until whitespace ends it.
      const open = match.index + word.length === combined.length;
      while (word.length > MAX_TOKEN_CHARS && tripped === undefined) {
        addToken(word.slice(0, MAX_TOKEN_CHARS));
        word = word.slice(MAX_TOKEN_CHARS);
      }
      if (open) pending = word;
      else if (tripped === undefined) addToken(word);
    }
  }

  return {
    push(text) {
      if (tripped) return tripped;
      chars += text.length;
      if (maxChars !== undefined && chars > maxChars) {
        tripped = { ok: false, reasons: [`degenerate: output past ${maxChars} characters`] };
        return tripped;
      }
      consume(text);
      return tripped;
    },
  };
}
