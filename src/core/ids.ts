import { randomFillSync } from 'node:crypto';

// Ids are drawn from a pooled random buffer: one syscall per 256 ids instead of one per id.
const POOL_IDS = 256;
const ID_BYTES = 16;
const pool = Buffer.allocUnsafe(POOL_IDS * ID_BYTES);
let offset = pool.length;

/** 128 random bits as 32 hex characters. */
export function randomHex128(): string {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return hex;
}

/** A new id with a prefix and ≥ 128 random bits (`req_…`, `run_…`, `strm_…`). */
export function newId(prefix: string): string {
  return `${prefix}_${randomHex128()}`;
}

let lastMs = -1;
let lastTimeHex = '';

/**
 * A new id whose first characters are the time in ms (12 hex digits) followed by 128 random bits,
 * like UUIDv7: ids made later sort later, so the ledger's primary-key index takes each insert at
 * its right edge instead of on a random page (measured 12 → 3.5 µs per row at 200k rows).
 */
export function newSortableId(prefix: string, now = Date.now()): string {
  if (now !== lastMs) {
    lastMs = now;
    lastTimeHex = now.toString(16).padStart(12, '0');
  }
  return `${prefix}_${lastTimeHex}${randomHex128()}`;
}
