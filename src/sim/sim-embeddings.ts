import { hashValues, randomFor } from './sim-hash.js';

const WORD_PATTERN = /[\p{L}\p{N}]+/gu;
/** How many dimensions each word touches; more spreads words apart, fewer makes collisions likelier. */
const SLOTS_PER_WORD = 4;
/** Weight of the per-text noise that keeps distinct texts with the same words apart. */
const TEXT_NOISE = 0.05;

/**
 * A deterministic unit vector for a text: hashed bag of words plus a little per-text noise, so the
 * same text always embeds the same and texts sharing words have a positive cosine similarity.
 */
export function simEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(WORD_PATTERN) ?? []) {
    for (let slot = 0; slot < SLOTS_PER_WORD; slot++) {
      const h = hashValues('embed', word, slot);
      vector[h % dimensions]! += (h & 0x10000) === 0 ? 1 : -1;
    }
  }
  const noise = randomFor('embed-text', text);
  for (let i = 0; i < dimensions; i++) vector[i]! += TEXT_NOISE * (2 * noise() - 1);
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)) || 1;
  return vector.map((x) => x / norm);
}
