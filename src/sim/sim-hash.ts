import { createSeededRandom, type Random } from '../core/clock.js';

/**
 * A 32-bit hash (cyrb53 folded) of any mix of strings and numbers. Everything the simulator
 * derives (text, timing, ids, fault dice) starts from one of these, so a seed reproduces a run.
 */
export function hashValues(...values: Array<string | number | undefined>): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (const value of values) {
    const text = value === undefined ? '\u0000' : `${typeof value}:${value}\u0001`;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ code, 2654435761);
      h2 = Math.imul(h2 ^ code, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

/** A seeded random stream for the given inputs. */
export function randomFor(...values: Array<string | number | undefined>): Random {
  return createSeededRandom(hashValues(...values));
}

/** A deterministic lowercase hex id of `length` characters. */
export function hexId(length: number, ...values: Array<string | number | undefined>): string {
  let out = '';
  for (let round = 0; out.length < length; round++) {
    out += hashValues(...values, round).toString(16).padStart(8, '0');
  }
  return out.slice(0, length);
}

/** An integer in [min, max], inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}
